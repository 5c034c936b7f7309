//! Parsing the XML of Windows VPN profiles safely, and small helpers over the tree.
//!
//! `roxmltree` refuses document type declarations with entity definitions unless asked
//! to allow them, so entity expansion ("billion laughs") and external entities never
//! happen; a node limit bounds the tree for any input under the file size cap.

use roxmltree::{Document, Node, ParsingOptions};

/// More nodes than any VPN profile has (a large ProfileXML has a few hundred).
const MAX_NODES: u32 = 20_000;

/// Why an XML text could not be parsed, and where (1-based line and column).
#[derive(Debug)]
pub(crate) struct XmlError {
    pub reason: String,
    pub position: Option<(usize, usize)>,
}

/// Parses XML text, refusing DTDs.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        use roxmltree::Error as E;
        let reason = match &e {
            E::DtdDetected => "the XML has a document type declaration (<!DOCTYPE … [ … ]>); \
                 entity definitions are refused so that entity expansion (\"billion laughs\") \
                 and external entities cannot be used, and a VPN profile never needs them"
                .to_string(),
            E::NodesLimitReached => {
                format!("the XML has more than {MAX_NODES} nodes, more than any VPN profile")
            }
            other => {
                let text = other.to_string();
                let suffix = format!(" at {}", other.pos());
                format!(
                    "not well-formed XML: {}",
                    text.strip_suffix(&suffix).unwrap_or(&text)
                )
            }
        };
        let position = match e {
            E::DtdDetected | E::NodesLimitReached => None,
            other => {
                let pos = other.pos();
                Some((pos.row as usize, pos.col as usize))
            }
        };
        XmlError { reason, position }
    })
}

/// The element's name without a namespace prefix.
pub(crate) fn local<'a>(node: &Node<'a, '_>) -> &'a str {
    node.tag_name().name()
}

/// The element children of a node.
pub(crate) fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// The first element child with this (local) name, case-insensitively.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    elements(node).find(|n| local(n).eq_ignore_ascii_case(name))
}

/// The element's text content, trimmed.
pub(crate) fn text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_string()
}

/// The 1-based line and column where the element starts.
pub(crate) fn position(node: Node<'_, '_>) -> (usize, usize) {
    let pos = node.document().text_pos_at(node.range().start);
    (pos.row as usize, pos.col as usize)
}

/// A ProfileXML boolean: `true`/`false` in any case (and `1`/`0`, which Windows'
/// parser also accepts).
pub(crate) fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billion_laughs_is_refused_before_expansion() {
        let text = "<?xml version=\"1.0\"?><!DOCTYPE VPNProfile [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><VPNProfile>&b;</VPNProfile>";
        let e = parse(text).unwrap_err();
        assert!(e.reason.contains("billion laughs"), "{}", e.reason);
        assert_eq!(e.position, None);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("<a>\n  <b></c>\n</a>").unwrap_err();
        assert_eq!(e.position, Some((2, 6)));
        assert!(
            e.reason.starts_with("not well-formed XML: "),
            "{}",
            e.reason
        );
    }
}
