//! HTTP `Range` requests on one file (RFC 9110 §14): one `bytes=` range, resolved against the
//! file's length once it is known.

/// A requested range before the file's length is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// `bytes=first-` or `bytes=first-last`
    From { first: u64, last: Option<u64> },
    /// `bytes=-count`: the last `count` bytes.
    Suffix { count: u64 },
}

/// Bytes `start..end` (end exclusive) of a file of `length` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
    pub length: u64,
}

impl ByteRange {
    pub fn whole(length: u64) -> ByteRange {
        ByteRange { start: 0, end: length, length }
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether this is the whole file (served 200 rather than 206).
    pub fn is_whole(&self) -> bool {
        self.start == 0 && self.end == self.length
    }

    /// The `Content-Range` value for a 206 answer.
    pub fn content_range(&self) -> String {
        format!("bytes {}-{}/{}", self.start, self.end.saturating_sub(1), self.length)
    }
}

impl RangeRequest {
    /// The bytes this asks for in a file of `length` bytes; `None` when unsatisfiable (416).
    pub fn resolve(self, length: u64) -> Option<ByteRange> {
        match self {
            RangeRequest::From { first, last } => {
                if first >= length {
                    return None;
                }
                let end = last.map_or(length, |last| last.saturating_add(1).min(length));
                Some(ByteRange { start: first, end, length })
            }
            RangeRequest::Suffix { count } => {
                if count == 0 || length == 0 {
                    return None;
                }
                Some(ByteRange { start: length - count.min(length), end: length, length })
            }
        }
    }
}

/// Reads a `Range` header. Anything but a single well-formed `bytes=` range is ignored (`None`,
/// the whole file is served), as RFC 9110 allows; several ranges are not supported, so they are
/// ignored too rather than answered as multipart.
pub fn parse_range_header(header: &str) -> Option<RangeRequest> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    if first.trim().is_empty() {
        return Some(RangeRequest::Suffix { count: number(last)? });
    }
    let first = number(first)?;
    let last = if last.trim().is_empty() { None } else { Some(number(last)?) };
    if last.is_some_and(|last| last < first) {
        return None;
    }
    Some(RangeRequest::From { first, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(parse_range_header("bytes=0-99"), Some(RangeRequest::From { first: 0, last: Some(99) }));
        assert_eq!(parse_range_header("bytes=100-"), Some(RangeRequest::From { first: 100, last: None }));
        assert_eq!(parse_range_header("bytes=-5"), Some(RangeRequest::Suffix { count: 5 }));
    }

    #[test]
    fn ignores_what_it_cannot_serve() {
        for header in ["items=0-1", "bytes=0-1,4-5", "bytes=5-2", "bytes=a-b", "bytes=-", "bytes=+1-2"] {
            assert_eq!(parse_range_header(header), None, "{header}");
        }
    }

    #[test]
    fn resolves_against_the_length() {
        let range = RangeRequest::From { first: 2, last: Some(1000) }.resolve(10).unwrap();
        assert_eq!((range.start, range.end, range.len()), (2, 10, 8));
        assert_eq!(range.content_range(), "bytes 2-9/10");
        assert_eq!(RangeRequest::Suffix { count: 3 }.resolve(10).unwrap().start, 7);
        assert_eq!(RangeRequest::Suffix { count: 30 }.resolve(10).unwrap().start, 0);
        assert!(RangeRequest::From { first: 0, last: None }.resolve(10).unwrap().is_whole());
        assert_eq!(RangeRequest::From { first: 10, last: None }.resolve(10), None);
        assert_eq!(RangeRequest::Suffix { count: 0 }.resolve(10), None);
        assert_eq!(RangeRequest::Suffix { count: 1 }.resolve(0), None);
    }
}
