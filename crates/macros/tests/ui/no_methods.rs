struct Empty;

#[fastrpc::service]
impl Empty {
    fn helper(&self) {}
}

fn main() {}
