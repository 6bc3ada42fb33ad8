struct Arith;

#[fastrpc::service]
impl Arith {
    async fn add(&self, ctx: &fastrpc::Context, a: i64, b: i64) -> i64 {
        let _ = ctx;
        a + b
    }
}

fn main() {}
