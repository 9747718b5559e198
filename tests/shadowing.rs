//! Generated code names everything by absolute paths: a module that shadows
//! the prelude and `core`/`std` still compiles with `#[memoize]` in it.

#![allow(dead_code, non_camel_case_types, clippy::upper_case_acronyms)]

mod shadowed {
    use memo::memoize;

    struct Option;
    struct Some;
    struct None;
    struct Result;
    struct Ok;
    struct Err;
    struct Box;
    struct Vec;
    struct String;
    mod core {}
    mod std {}
    mod memo_private {}

    #[memoize]
    pub fn double(x: u32) -> u32 {
        x * 2
    }

    #[memoize(maxsize = 8, typed)]
    pub fn first<T: Clone + ::core::hash::Hash + Eq + Send + Sync + 'static>(
        xs: &[T],
    ) -> ::core::option::Option<T> {
        xs.first().cloned()
    }

    pub struct Meters(pub u32);

    impl Meters {
        #[memoize(key = 1_u8)]
        pub fn unit(&self) -> &'static str {
            "m"
        }
    }
}

#[test]
fn shadowed_names_do_not_break_the_expansion() {
    assert_eq!(shadowed::double(4), 8);
    assert_eq!(shadowed::double_cache().len(), 1);
    assert_eq!(shadowed::first(&[3_u8, 4]), Some(3));
    assert_eq!(shadowed::Meters(3).unit(), "m");
}
