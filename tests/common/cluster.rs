//! A Redis Cluster of the test's own, with a replica per master, that a test
//! may take a master of away.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::{OwnServer, free_port, raw, resp};

/// Three masters and three replicas on loopback, stopped when dropped.
pub struct OwnCluster {
    pub nodes: Vec<OwnServer>,
    dir: std::path::PathBuf,
}

impl OwnCluster {
    /// Starts the six servers and makes them a cluster, or `None` (skipped)
    /// without `MEMO_TEST_REDIS_SERVER`.
    pub fn start() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("memo-cluster-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            // The bus port is given: the OS's free ports may have no free
            // port 10000 above them.
            let bus = free_port().to_string();
            let conf = format!("nodes-{bus}.conf");
            let options = [
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus,
                "--cluster-config-file",
                &conf,
                "--cluster-node-timeout",
                "1000",
                "--dir",
                dir.to_str().unwrap(),
            ];
            nodes.push(OwnServer::redis_with(&options)?);
        }
        let cluster = OwnCluster { nodes, dir };
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(cluster.nodes.iter().map(OwnServer::addr))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-cli, to make a cluster");
        assert!(status.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        let ready = |addr: &str| cluster_ok(addr) && (is_master(addr) || synced(addr));
        while !cluster.nodes.iter().all(|node| ready(&node.addr())) {
            assert!(Instant::now() < deadline, "the cluster never became ok, its replicas synced");
            thread::sleep(Duration::from_millis(50));
        }
        Some(cluster)
    }

    /// The addresses of every node.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(OwnServer::addr).collect()
    }
}

/// Whether the node at `addr` is a master.
pub fn is_master(addr: &str) -> bool {
    raw(addr, &resp(&[b"ROLE"])).starts_with(b"*3\r\n$6\r\nmaster")
}

/// Whether the replica at `addr` has synced with its master.
fn synced(addr: &str) -> bool {
    String::from_utf8_lossy(&raw(addr, &resp(&[b"INFO", b"replication"]))).contains("master_link_status:up")
}

/// Whether the node at `addr` says the cluster is ok.
pub fn cluster_ok(addr: &str) -> bool {
    let info = String::from_utf8_lossy(&raw(addr, &resp(&[b"CLUSTER", b"INFO"]))).into_owned();
    info.contains("cluster_state:ok")
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
