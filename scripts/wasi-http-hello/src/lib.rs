//! The component of scripts/loadtest.py, served alike by `wasmtime serve`
//! and the hotswap ingress:
//!
//! - a `GET` is answered with a fixed JSON body, the wasi:http equivalent
//!   of the trivial function the edge-node load test calls: `{"result":5}`
//!   unless `HELLO_BODY` is set when it is built (the README's walkthrough
//!   builds a second version that way);
//! - any other method is answered with the request body, copied as it
//!   arrives (the echo row of the load test).

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::streams::StreamError;

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let echo = !matches!(request.method(), Method::Get);
        let response = OutgoingResponse::new(Fields::new());
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            if echo {
                if let Ok(incoming) = request.consume() {
                    if let Ok(input) = incoming.stream() {
                        loop {
                            match input.blocking_read(4096) {
                                Ok(chunk) => {
                                    if stream.blocking_write_and_flush(&chunk).is_err() {
                                        break;
                                    }
                                }
                                Err(StreamError::Closed) => break,
                                Err(_) => break,
                            }
                        }
                        drop(input);
                    }
                    let _ = IncomingBody::finish(incoming);
                }
            } else {
                let text = option_env!("HELLO_BODY").unwrap_or(r#"{"result":5}"#);
                let _ = stream.blocking_write_and_flush(text.as_bytes());
            }
            drop(stream);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(Hello with_types_in wasip2);
