//! Reading server-sent events: `event:` and `data:` lines, blocks ended by
//! a blank line, comments (`:`) as keep-alives.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use hotswap_core::{Error, Result};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// How long a stream may stay silent (the server sends a keep-alive
/// comment every 15 s) before it counts as lost.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// One event: its name (`message` when unnamed) and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) data: String,
}

/// Split `buffer` at its first complete event block; `None` when it holds
/// none yet. Blocks of comments alone give an event with no data, which
/// callers skip.
pub(crate) fn next_event(buffer: &mut String) -> Option<Event> {
    let normalized = buffer.replace("\r\n", "\n");
    let end = normalized.find("\n\n")?;
    let block = normalized[..end].to_owned();
    *buffer = normalized[end + 2..].to_owned();
    let mut event = Event {
        name: "message".into(),
        data: String::new(),
    };
    let mut lines = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.name = value.to_owned(),
            "data" => lines.push(value),
            _ => {}
        }
    }
    event.data = lines.join("\n");
    Some(event)
}

/// The `name` events of `body` as `T`; an `error` event (a problem) ends
/// the stream with its error.
pub(crate) fn events<T: DeserializeOwned + 'static>(
    service: &'static str,
    body: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    name: &'static str,
) -> impl Stream<Item = Result<T>> + Send + Unpin {
    let state = (Box::pin(body), String::new(), false);
    Box::pin(futures::stream::unfold(
        state,
        move |(mut body, mut buffer, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(e) = next_event(&mut buffer) {
                    if e.name == "error" {
                        let error = serde_json::from_str::<Problem>(&e.data)
                            .map(|p| p.into_error(service))
                            .unwrap_or_else(|_| Error::internal(e.data));
                        return Some((Err(error), (body, buffer, true)));
                    }
                    if e.name != name || e.data.is_empty() {
                        continue;
                    }
                    let item = serde_json::from_str(&e.data).map_err(|err| {
                        Error::internal(format!(
                            "{service} sent an event that does not parse: {err}"
                        ))
                    });
                    return Some((item, (body, buffer, false)));
                }
                match tokio::time::timeout(IDLE_LIMIT, body.next()).await {
                    Ok(Some(Ok(chunk))) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => {
                        let error = Error::Unavailable {
                            service: service.to_owned(),
                            temporary: true,
                            reason: format!("the event stream broke: {e}"),
                            source: Some(Box::new(e)),
                        };
                        return Some((Err(error), (body, buffer, true)));
                    }
                    Err(_) => {
                        let error = Error::Unavailable {
                            service: service.to_owned(),
                            temporary: true,
                            reason: format!(
                                "the event stream was silent for {} s",
                                IDLE_LIMIT.as_secs()
                            ),
                            source: None,
                        };
                        return Some((Err(error), (body, buffer, true)));
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_at_blank_lines_and_comments_are_skipped() {
        let mut buffer =
            ": keep-alive\n\nevent: view\ndata: {\"a\":\ndata: 1}\n\nevent: vi".to_owned();
        let first = next_event(&mut buffer).unwrap();
        assert_eq!(first.data, "");
        let second = next_event(&mut buffer).unwrap();
        assert_eq!(
            second,
            Event {
                name: "view".into(),
                data: "{\"a\":\n1}".into()
            }
        );
        assert_eq!(next_event(&mut buffer), None);
        assert_eq!(buffer, "event: vi");
        buffer.push_str("ew\r\ndata:2\r\n\r\n");
        assert_eq!(next_event(&mut buffer).unwrap().data, "2");
    }

    proptest::proptest! {
        /// However the bytes of a stream are cut into chunks, with LF or
        /// CRLF line ends and keep-alive comments between events, the
        /// same events come out, in order.
        #[test]
        fn events_survive_any_chunking(
            texts in proptest::collection::vec("[ -~]{0,40}", 1..8),
            cuts in proptest::collection::vec(0usize..10_000, 0..8),
            crlf in proptest::bool::ANY,
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut raw = String::new();
            for t in &texts {
                let data = serde_json::to_string(t).unwrap();
                raw.push_str(&format!(":keep-alive{nl}{nl}event: view{nl}data: {data}{nl}{nl}"));
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (raw.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([raw.len()]) {
                chunks.push(Ok(Bytes::from(raw[from..c].to_owned())));
                from = c;
            }
            let got: Vec<Result<String>> = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(events("test", futures::stream::iter(chunks), "view").collect());
            let got: Vec<String> = got.into_iter().map(Result::unwrap).collect();
            proptest::prop_assert_eq!(got, texts);
        }
    }

    #[tokio::test]
    async fn named_events_parse_and_an_error_event_ends_the_stream() {
        let chunks: Vec<reqwest::Result<Bytes>> = vec![
            Ok(Bytes::from(
                "event: view\ndata: 1\n\nevent: other\ndata: 9\n\nevent: vi",
            )),
            Ok(Bytes::from("ew\ndata: 2\n\n")),
            Ok(Bytes::from(
                "event: error\ndata: {\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"gone\"}\n\n",
            )),
            Ok(Bytes::from("event: view\ndata: 3\n\n")),
        ];
        let got: Vec<Result<u32>> = events("test", futures::stream::iter(chunks), "view")
            .collect()
            .await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].as_ref().unwrap(), &1);
        assert_eq!(got[1].as_ref().unwrap(), &2);
        assert!(got[2].is_err());
    }
}
