use memo::memoize;

trait Shape {
    fn area(&self) -> u32;
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Square(u32);

impl Shape for Square {
    // Trait impls hold only the trait's items: there is no room for the
    // handle. Memoize an inherent method and call it from here instead.
    #[memoize]
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

fn main() {}
