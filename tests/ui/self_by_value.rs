use memo::memoize;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Token(u32);

impl Token {
    #[memoize]
    fn spend(self) -> u32 {
        self.0
    }
}

fn main() {}
