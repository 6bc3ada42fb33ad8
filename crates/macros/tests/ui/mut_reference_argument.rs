struct Echo;

#[fastrpc::service]
impl Echo {
    async fn echo(&self, value: &mut String) -> String {
        value.clone()
    }
}

fn main() {}
