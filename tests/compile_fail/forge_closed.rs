// The token that proves a session ended cannot be made outside `Chan::close`.
use aura::protocol::session::Closed;

fn stop() -> Closed {
    Closed { _private: () }
}

fn main() {}
