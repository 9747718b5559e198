use super::*;

#[test]
fn parts_are_a_power_of_two_on_their_own_cache_lines() {
    let shards = Shards::new(5, true, |_| (0_u8, ()));
    assert_eq!(shards.len(), 8);
    assert!(core::mem::align_of::<Padded<Slot<u8, ()>>>() >= 128);
    assert!((0..1000_u64).all(|h| shards.index(shards.hash_one(h)) < 8));
    assert_eq!(Shards::<u8>::for_maxsize(3), 1);
    assert_eq!(Shards::<u8>::for_maxsize(127), 1);
    assert_eq!(Shards::<u8>::for_maxsize(1000), 125);
    assert_eq!(Shards::<u8>::for_maxsize(1 << 30), DEFAULT_SHARDS);
}

type Entries = Vec<(u64, u64)>;

fn split(
    part: &mut Entries,
    (): &mut (),
    count: usize,
    _: &RandomState,
    place: &dyn Fn(u64) -> usize,
) -> Option<Vec<(Entries, ())>> {
    let mut parts: Vec<Entries> = (1..count).map(|_| Vec::new()).collect();
    for (hash, value) in part.extract_if(.., |(hash, _)| place(*hash) != 0) {
        parts[place(hash) - 1].push((hash, value));
    }
    Some(parts.into_iter().map(|part| (part, ())).collect())
}

#[test]
fn a_growing_store_is_one_part_until_contended_then_keeps_every_entry_in_its_part() {
    let shards = Shards::growing(8, true, (Entries::new(), ()), split);
    let hashes: Vec<u64> = (0..64_u64).map(|i| (i << 32) | i).collect();
    for &hash in &hashes {
        shards.lock_for(hash).push((hash, hash + 1));
    }
    assert_eq!(shards.len(), 1, "one thread alone never grows it");
    // Another thread locks part 0 while this one holds it, until it
    // has been kept waiting often enough.
    for _ in 0..1000 {
        if shards.len() > 1 {
            break;
        }
        std::thread::scope(|scope| {
            let held = shards.lock(0);
            scope.spawn(|| drop(shards.lock_for(hashes[0])));
            std::thread::sleep(std::time::Duration::from_millis(2));
            drop(held);
        });
    }
    assert_eq!(shards.len(), 8, "contended, it grew");
    for &hash in &hashes {
        let part = shards.lock_for(hash);
        assert_eq!(part.index, shards.index(hash));
        assert_eq!(part.iter().filter(|(h, v)| *h == hash && *v == hash + 1).count(), 1, "{hash:x}");
    }
    let mut total = 0;
    shards.each(|part| total += part.len());
    assert_eq!(total, hashes.len(), "nothing lost, nothing doubled");
}
