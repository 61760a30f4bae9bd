//! Where each key of the config file is written: TOML's span table, read once, so every
//! error can name its line.

use indexmap::IndexMap;

/// The file's tables and keys with the offset each key is written at.
pub(super) struct Locations<'a> {
    text: &'a str,
    root: Node,
}

#[derive(Default)]
struct Node {
    offset: usize,
    /// Set for a table; keys holding other values have none.
    children: Option<IndexMap<String, Node>>,
}

impl<'a> Locations<'a> {
    /// Reads the spans of `text`; text TOML cannot parse has none (its error comes first).
    pub fn read(text: &'a str) -> Self {
        let children = toml::de::DeTable::parse(text)
            .ok()
            .map(|doc| table(doc.get_ref()));
        Locations {
            text,
            root: Node {
                offset: 0,
                children,
            },
        }
    }

    /// The line where a dotted key (`clients.shop.providers`) is defined; the line of its
    /// deepest existing parent when the key itself is not written.
    pub fn line_of_key(&self, key: &str) -> Option<usize> {
        self.find(key).0.map(|offset| line_at(self.text, offset))
    }

    /// Whether `key` is written in the file (as opposed to one of its aliases).
    pub fn has_key(&self, key: &str) -> bool {
        self.find(key).1
    }

    /// (offset of the deepest key found, whether the whole path was found)
    fn find(&self, key: &str) -> (Option<usize>, bool) {
        let mut node = &self.root;
        let mut found = None;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Some(children) = &node.children else {
                return (found, i == parts.len());
            };
            let Some(child) = children.get(*part) else {
                return (found, false);
            };
            found = Some(child.offset);
            if child.children.is_none() {
                return (found, i == parts.len() - 1);
            }
            node = child;
        }
        (found, true)
    }
}

fn table(t: &toml::de::DeTable<'_>) -> IndexMap<String, Node> {
    t.iter()
        .map(|(k, v)| {
            let children = match v.get_ref() {
                toml::de::DeValue::Table(t) => Some(table(t)),
                _ => None,
            };
            let node = Node {
                offset: k.span().start,
                children,
            };
            (k.get_ref().to_string(), node)
        })
        .collect()
}

pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
