struct Echo;

#[fastrpc::service]
impl Echo {
    async fn echo<T: Send>(&self, value: T) -> T {
        value
    }
}

fn main() {}
