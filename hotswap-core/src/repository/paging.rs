//! Keyset paging shared by every repository.
//!
//! Each list has a total order on a sort key (a tuple of strings: for
//! modules `(name, id)`, for the rest `(id)`, ids being time-ordered
//! UUIDv7). A page ends with an opaque cursor naming the last key; the next
//! page starts after it, so rows added or removed meanwhile never shift or
//! repeat what a reader sees.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The default page size.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// Which page to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PageRequest {
    /// Items per page, 1..=1000.
    pub limit: u32,
    /// The cursor of the previous page, absent for the first.
    pub after: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: impl Into<String>) -> Self {
        Self {
            limit,
            after: Some(cursor.into()),
        }
    }

    /// Refuse a zero or too large limit.
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_PAGE_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("{} is outside 1..={MAX_PAGE_LIMIT}", self.limit),
            ));
        }
        Ok(())
    }

    /// The sort key the cursor names, expecting `parts` components.
    pub fn after_key(&self, parts: usize) -> Result<Option<Vec<String>>> {
        self.validate()?;
        self.after
            .as_deref()
            .map(|c| decode_cursor(c, parts))
            .transpose()
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// The cursor for the next page; absent on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from up to `limit + 1` items fetched after the cursor:
    /// the extra item only tells that another page exists.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> Vec<String>) -> Self {
        let limit = limit as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self { items, next }
    }
}

/// Encode a sort key as an opaque cursor.
pub fn encode_cursor(parts: &[String]) -> String {
    hex::encode(parts.join("\u{1f}"))
}

/// Decode a cursor made by [`encode_cursor`] with `parts` components.
pub fn decode_cursor(cursor: &str, parts: usize) -> Result<Vec<String>> {
    // A well-formed request naming a position the list does not have, as
    // an unknown id would: `404`.
    let bad = || Error::not_found(crate::error::ResourceKind::PageCursor, cursor);
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let key: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if key.len() != parts {
        return Err(bad());
    }
    Ok(key)
}

/// Page through `items` in memory: sort by `key`, keep those after the
/// cursor, take a page. Used by the in-memory repositories.
/// Every item of a list, fetched in pages of [`MAX_PAGE_LIMIT`], in list
/// order. `fetch` lists one page.
pub async fn all_items<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut page = PageRequest::first(MAX_PAGE_LIMIT);
    loop {
        let p = fetch(page).await?;
        items.extend(p.items);
        match p.next {
            Some(next) => page = PageRequest::after(MAX_PAGE_LIMIT, next),
            None => return Ok(items),
        }
    }
}

/// One page of `items` ordered by `key`; only the items on the page are
/// cloned.
pub(crate) fn page_in_memory<'a, T: Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    page: &PageRequest,
    parts: usize,
    key: impl Fn(&T) -> Vec<String>,
) -> Result<Page<T>> {
    let after = page.after_key(parts)?;
    let mut keyed: Vec<(Vec<String>, &T)> = items
        .map(|t| (key(t), t))
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
        .collect();
    let take = (page.limit as usize + 1).min(keyed.len());
    if take < keyed.len() {
        keyed.select_nth_unstable_by(take, |a, b| a.0.cmp(&b.0));
        keyed.truncate(take);
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Page::from_overfetch(
        keyed.into_iter().map(|(_, t)| t.clone()).collect(),
        page.limit,
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_refusal() {
        let key = vec!["echo".to_owned(), "0193".to_owned()];
        assert_eq!(decode_cursor(&encode_cursor(&key), 2).unwrap(), key);
        assert!(decode_cursor("zz", 2).is_err());
        assert!(decode_cursor(&encode_cursor(&key), 1).is_err());
        assert!(PageRequest::first(0).validate().is_err());
        assert!(PageRequest::first(1001).validate().is_err());
    }

    #[test]
    fn memory_paging_walks_everything_once() {
        let items: Vec<u32> = (0..25).rev().collect();
        let key = |x: &u32| vec![format!("{x:04}")];
        let mut seen = Vec::new();
        let mut req = PageRequest::first(10);
        loop {
            let page = page_in_memory(items.iter(), &req, 1, key).unwrap();
            seen.extend(page.items);
            match page.next {
                Some(c) => req = PageRequest::after(10, c),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
    }
}
