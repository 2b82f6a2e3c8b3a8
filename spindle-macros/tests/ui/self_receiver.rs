struct Server;

impl Server {
    #[spindle::main]
    async fn serve(&self) {}
}

fn main() {
    Server.serve();
}
