#[fastrpc::service(schema)]
trait Remote {
    async fn take(&self, args: u32) -> u32;
}

fn main() {}
