struct Echo;

#[fastrpc::service]
impl Echo {
    #[rpc(rename = "Other")]
    async fn echo(&self, value: String) -> String {
        value
    }
}

fn main() {}
