struct Arith;

#[derive(Debug)]
struct Oops;

#[fastrpc::service]
impl Arith {
    async fn check(&self, a: i64) -> Result<i64, Oops> {
        if a < 0 { Err(Oops) } else { Ok(a) }
    }
}

fn main() {}
