struct Echo;

#[fastrpc::service(version = "2")]
impl Echo {
    async fn echo(&self, value: String) -> String {
        value
    }
}

fn main() {}
