//! Answers every request with a fixed JSON body: the wasi:http equivalent of
//! the trivial function the edge-node load test calls.

use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(br#"{"result":5}"#);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(Hello with_types_in wasip2);
