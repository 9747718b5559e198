//! Deleting every key of a namespace: SCAN with MATCH, then DEL of each
//! page's keys in one command; on a cluster, on every master. Each page is
//! one operation with its own deadline.

use std::sync::Arc;

use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, Value};

use super::link::{Conn, Link};
use crate::remote::Timeouts;
use crate::store::StoreError;

/// Keys per SCAN page.
const PAGE: usize = 1000;

fn glob_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

fn scan(cursor: &str, pattern: &str) -> Cmd {
    redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(PAGE).to_owned()
}

/// Deletes the keys of one SCAN reply; the cursor to go on with, `None` at
/// the end.
async fn delete_page(conn: &mut Conn, reply: Value) -> redis::RedisResult<Option<String>> {
    let (next, keys): (String, Vec<Vec<u8>>) = redis::from_redis_value(reply)?;
    if !keys.is_empty() {
        conn.query::<i64>(redis::cmd("DEL").arg(&keys)).await?;
    }
    Ok((next != "0").then_some(next))
}

/// The `host` and `port` of an address `host:port`.
fn host_port(addr: &str) -> Result<(String, u16), StoreError> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| StoreError::new(format!("a node at {addr}")))?;
    let port = port.parse().map_err(|_| StoreError::new(format!("a node at {addr}")))?;
    Ok((host.trim_matches(|c| c == '[' || c == ']').to_owned(), port))
}

pub(super) fn clear(link: &Arc<Link>, timeouts: Timeouts, prefix: &str) -> Result<(), StoreError> {
    let pattern = format!("{}*", glob_escape(prefix));
    // The first page: of the server, or of every master of a cluster, by
    // address.
    let first = {
        let pattern = pattern.clone();
        link.call(timeouts, move |mut conn| async move {
            let cmd = scan("0", &pattern);
            match &mut conn {
                Conn::One(_) => {
                    let reply = conn.query::<Value>(&cmd).await?;
                    let next = delete_page(&mut conn, reply).await?;
                    Ok(vec![(None, next)])
                }
                Conn::Cluster(cluster) => {
                    let masters = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                    let Value::Map(replies) = cluster.route_command(cmd, masters).await? else {
                        return Err(redis::RedisError::from(std::io::Error::other(
                            "SCAN on every master: not one reply per master",
                        )));
                    };
                    let mut pending = Vec::new();
                    for (addr, reply) in replies {
                        let addr: String = redis::from_redis_value(addr)?;
                        pending.push((Some(addr), delete_page(&mut conn, reply).await?));
                    }
                    Ok(pending)
                }
            }
        })?
    };
    // The pages that follow, node by node.
    for (addr, mut cursor) in first {
        let node = addr.as_deref().map(host_port).transpose()?;
        while let Some(at) = cursor {
            let (pattern, node) = (pattern.clone(), node.clone());
            cursor = link.call(timeouts, move |mut conn| async move {
                let cmd = scan(&at, &pattern);
                let reply = match (&mut conn, node) {
                    (Conn::Cluster(cluster), Some((host, port))) => {
                        let to = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
                        cluster.route_command(cmd, to).await?
                    }
                    _ => conn.query::<Value>(&cmd).await?,
                };
                delete_page(&mut conn, reply).await
            })?;
        }
    }
    Ok(())
}
