use memo::memoize;

struct Token;

#[memoize]
async fn f(x: u32, token: Token) -> u32 {
    let _ = token;
    x
}

fn main() {}
