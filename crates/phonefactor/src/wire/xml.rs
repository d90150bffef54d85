//! A small element tree read with `quick-xml`, and the writer helpers the encoders share.
//!
//! Both protocols are tiny documents, so decoding reads the whole document into a tree of
//! elements keyed by local name (prefixes and namespaces dropped), which makes the lenient
//! "order-free, unknown elements ignored" rules and the strict client rules both simple lookups.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::reader::Reader;

/// Deepest nesting accepted; the real documents are five levels deep.
const MAX_DEPTH: usize = 32;

/// One element: local name, attributes by local name, child elements and its own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Local name (any prefix removed).
    pub name: String,
    /// Attributes in document order, by local name, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The concatenated character data directly inside this element (text and CDATA).
    pub text: String,
}

/// Why a document could not be read as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// The bytes are not well-formed XML (or not UTF-8).
    NotWellFormed(String),
    /// The document ended before its root element was closed.
    Truncated,
    /// The document has no root element.
    Empty,
    /// Elements nest deeper than any real message.
    TooDeep,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotWellFormed(why) => write!(f, "not well-formed XML: {why}"),
            Self::Truncated => f.write_str("the document ends before its root element is closed"),
            Self::Empty => f.write_str("the document has no root element"),
            Self::TooDeep => f.write_str("elements nest too deeply"),
        }
    }
}

impl Element {
    fn new(start: &BytesStart<'_>) -> Result<Self, XmlError> {
        let name = utf8(start.local_name().as_ref())?.to_owned();
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
            let key = attr.key.local_name();
            let key = utf8(key.as_ref())?;
            // Namespace declarations are not data.
            if attr.key.as_ref() == b"xmlns" || attr.key.as_ref().starts_with(b"xmlns:") {
                continue;
            }
            let value = attr
                .unescape_value()
                .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
            attrs.push((key.to_owned(), value.into_owned()));
        }
        Ok(Self {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
        })
    }

    /// Parses a whole document (an optional BOM and declaration are accepted).
    pub fn parse(input: &[u8]) -> Result<Self, XmlError> {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let text = std::str::from_utf8(input)
            .map_err(|_| XmlError::NotWellFormed("the document is not UTF-8".into()))?;
        let mut reader = Reader::from_str(text);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
            match event {
                Event::Start(start) => {
                    if root.is_some() {
                        return Err(XmlError::NotWellFormed(
                            "content after the root element".into(),
                        ));
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                    stack.push(Element::new(&start)?);
                }
                Event::Empty(start) => {
                    let element = Element::new(&start)?;
                    close(&mut stack, &mut root, element)?;
                }
                Event::End(_) => {
                    // quick-xml checks that end names match their start.
                    let element = stack.pop().ok_or_else(|| {
                        XmlError::NotWellFormed("an end tag without a start".into())
                    })?;
                    close(&mut stack, &mut root, element)?;
                }
                Event::Text(t) => {
                    let s = t
                        .xml10_content()
                        .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
                    push_text(&mut stack, &root, &s)?;
                }
                Event::CData(c) => {
                    let s = c
                        .xml10_content()
                        .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
                    push_text(&mut stack, &root, &s)?;
                }
                Event::GeneralRef(r) => {
                    let resolved: Cow<'_, str> = match r
                        .resolve_char_ref()
                        .map_err(|e| XmlError::NotWellFormed(e.to_string()))?
                    {
                        Some(c) => Cow::Owned(c.to_string()),
                        None => {
                            let name = r
                                .decode()
                                .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
                            Cow::Borrowed(match name.as_ref() {
                                "lt" => "<",
                                "gt" => ">",
                                "amp" => "&",
                                "apos" => "'",
                                "quot" => "\"",
                                other => {
                                    return Err(XmlError::NotWellFormed(format!(
                                        "unknown entity &{other};"
                                    )));
                                }
                            })
                        }
                    };
                    push_text(&mut stack, &root, &resolved)?;
                }
                Event::DocType(_) => {
                    return Err(XmlError::NotWellFormed("a DOCTYPE is not accepted".into()));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => {
                    if !stack.is_empty() {
                        return Err(XmlError::Truncated);
                    }
                    return root.ok_or(XmlError::Empty);
                }
            }
        }
    }

    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first element with this local name anywhere below this one (depth first).
    pub fn descendant(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.descendant(name) {
                return Some(found);
            }
        }
        None
    }

    /// An attribute value by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text, trimmed.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// A copy with whitespace-only text removed and text trimmed, for comparing documents
    /// written with and without indentation.
    pub fn normalised(&self) -> Element {
        Element {
            name: self.name.clone(),
            attrs: self.attrs.clone(),
            children: self.children.iter().map(Element::normalised).collect(),
            text: self.text.trim().to_owned(),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|_| XmlError::NotWellFormed("a name is not UTF-8".into()))
}

fn close(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(XmlError::NotWellFormed("more than one root element".into())),
    }
    Ok(())
}

fn push_text(stack: &mut [Element], root: &Option<Element>, text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(e) => e.text.push_str(text),
        None if text.trim().is_empty() => {}
        None if root.is_some() => {
            return Err(XmlError::NotWellFormed(
                "text after the root element".into(),
            ));
        }
        None => {
            return Err(XmlError::NotWellFormed(
                "text before the root element".into(),
            ));
        }
    }
    Ok(())
}

/// Builds a document with `quick-xml`'s writer. Writing into a `Vec` cannot fail, so the
/// helpers swallow the `io::Result` the writer's generic API returns.
pub(crate) struct XmlWriter {
    inner: Writer<Vec<u8>>,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self {
            inner: Writer::new(Vec::with_capacity(1024)),
        }
    }

    fn write(&mut self, event: Event<'_>) {
        // Writing into a Vec<u8> never returns an I/O error.
        let _ = self.inner.write_event(event);
    }

    /// `<?xml version="1.0" encoding="utf-8"?>`
    pub(crate) fn declaration(&mut self) {
        self.write(Event::Decl(quick_xml::events::BytesDecl::new(
            "1.0",
            Some("utf-8"),
            None,
        )));
    }

    pub(crate) fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.write(Event::Start(
            BytesStart::new(name).with_attributes(attrs.iter().copied()),
        ));
    }

    pub(crate) fn end(&mut self, name: &str) {
        self.write(Event::End(BytesEnd::new(name)));
    }

    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.write(Event::Empty(
            BytesStart::new(name).with_attributes(attrs.iter().copied()),
        ));
    }

    /// `<name attrs>text</name>`, the text escaped.
    pub(crate) fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.write(Event::Text(BytesText::new(text)));
        self.end(name);
    }

    /// `<name><![CDATA[text]]></name>`, split into several sections around any `]]>`.
    pub(crate) fn cdata_element(&mut self, name: &str, text: &str) {
        self.start(name, &[]);
        for section in BytesCData::escaped(text) {
            self.write(Event::CData(section));
        }
        self.end(name);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.inner.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_local_names_attributes_text_and_cdata() {
        let doc = br#"<?xml version="1.0"?><a:root xmlns:a="urn:x" a:k="v &amp; w"><b>x &lt; y</b><c><![CDATA[p]]]]><![CDATA[>q]]></c></a:root>"#;
        let root = Element::parse(doc).unwrap();
        assert_eq!(root.name, "root");
        assert_eq!(root.attr("k"), Some("v & w"));
        assert_eq!(root.child("b").unwrap().text, "x < y");
        assert_eq!(root.child("c").unwrap().text, "p]]>q");
    }

    #[test]
    fn rejects_truncated_and_mismatched_documents() {
        assert_eq!(Element::parse(b"<a><b>1</b>"), Err(XmlError::Truncated));
        assert!(matches!(
            Element::parse(b"<a><b>1</c></a>"),
            Err(XmlError::NotWellFormed(_))
        ));
        assert_eq!(Element::parse(b"  "), Err(XmlError::Empty));
        assert!(matches!(
            Element::parse(b"<a/><b/>"),
            Err(XmlError::NotWellFormed(_))
        ));
    }

    #[test]
    fn cdata_writer_splits_around_the_terminator() {
        let mut w = XmlWriter::new();
        w.cdata_element("u", "a]]>b");
        let out = w.finish();
        assert_eq!(Element::parse(&out).unwrap().text, "a]]>b");
    }

    #[test]
    fn refuses_deep_nesting() {
        let doc = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(Element::parse(doc.as_bytes()), Err(XmlError::TooDeep));
    }
}
