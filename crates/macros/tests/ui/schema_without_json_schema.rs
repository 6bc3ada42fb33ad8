#[derive(serde::Serialize, serde::Deserialize)]
struct Args {
    a: i64,
}

struct Svc;

#[fastrpc::service(schema)]
impl Svc {
    async fn take(&self, args: Args) -> u32 {
        args.a as u32
    }
}

fn main() {}
