//! A compressed (radix) byte trie stored in an arena, shared by the subscription tries.
//!
//! Every node owns an edge label (the bytes from its parent to itself) and a value. A node's key is
//! the concatenation of the labels on the path from the root. Invariants kept by [`Radix::prune`]:
//!
//! * the root has an empty label; every other node has a non-empty label;
//! * a non-root node whose value is vacant has at least two children (otherwise it is removed, or
//!   merged into its only child).
//!
//! So the number of nodes is at most twice the number of occupied keys, plus the root, and the label
//! bytes total at most the bytes of the occupied keys. Node ids stay stable while a node is
//! occupied: splitting and merging only create or free vacant nodes, which nothing outside refers
//! to. Every walk is iterative: a peer controls key lengths, so nothing here recurses on them.

use bytes::Bytes;
use smallvec::SmallVec;

/// Id of the root node (the empty key).
pub(crate) const ROOT: u32 = 0;

/// Largest number of nodes the arena may hold (ids are `u32`).
const MAX_NODES: usize = u32::MAX as usize;

/// What a node stores; the default value is vacant.
pub(crate) trait NodeValue: Default {
    /// True when no key ends at this node.
    fn is_vacant(&self) -> bool;
}

#[derive(Debug)]
struct Node<V> {
    /// Edge label from the parent to this node (empty only for the root and freed nodes).
    label: Box<[u8]>,
    /// Parent id (the root is its own parent).
    parent: u32,
    /// Children keyed by the first byte of their label, sorted by that byte.
    children: SmallVec<[(u8, u32); 2]>,
    value: V,
}

impl<V: NodeValue> Node<V> {
    fn new(label: Box<[u8]>, parent: u32) -> Self {
        Self {
            label,
            parent,
            children: SmallVec::new(),
            value: V::default(),
        }
    }

    fn child(&self, byte: u8) -> Option<u32> {
        self.children
            .binary_search_by_key(&byte, |c| c.0)
            .ok()
            .and_then(|at| self.children.get(at))
            .map(|c| c.1)
    }
}

/// Arena-backed radix trie. See the module docs.
#[derive(Debug)]
pub(crate) struct Radix<V> {
    nodes: Vec<Node<V>>,
    free: Vec<u32>,
}

impl<V: NodeValue> Default for Radix<V> {
    fn default() -> Self {
        Self {
            nodes: vec![Node::new(Box::default(), ROOT)],
            free: Vec::new(),
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V: NodeValue> Radix<V> {
    fn node(&self, id: u32) -> &Node<V> {
        // Ids handed out by this arena are always in bounds; fall back to the root defensively.
        self.nodes
            .get(id as usize)
            .unwrap_or_else(|| &self.nodes[ROOT as usize])
    }

    fn node_mut(&mut self, id: u32) -> &mut Node<V> {
        let id = if (id as usize) < self.nodes.len() {
            id
        } else {
            ROOT
        };
        &mut self.nodes[id as usize]
    }

    /// The value stored at node `id`.
    pub(crate) fn value(&self, id: u32) -> &V {
        &self.node(id).value
    }

    /// The value stored at node `id`, mutably.
    pub(crate) fn value_mut(&mut self, id: u32) -> &mut V {
        &mut self.node_mut(id).value
    }

    /// Nodes in use, the root included.
    #[cfg(test)]
    pub(crate) fn live_nodes(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// The node whose key is exactly `key`, if the trie has one (occupied or not).
    pub(crate) fn find(&self, key: &[u8]) -> Option<u32> {
        let mut id = ROOT;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            let child = self.node(id).child(byte)?;
            rest = rest.strip_prefix(&*self.node(child).label)?;
            id = child;
        }
        Some(id)
    }

    fn can_alloc(&self, n: usize) -> bool {
        self.free.len() + MAX_NODES.saturating_sub(self.nodes.len()) >= n
    }

    fn alloc(&mut self, label: Box<[u8]>, parent: u32) -> u32 {
        if let Some(id) = self.free.pop() {
            *self.node_mut(id) = Node::new(label, parent);
            id
        } else {
            // `can_alloc` was checked by the caller, so the id fits in a u32.
            let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
            self.nodes.push(Node::new(label, parent));
            id
        }
    }

    fn release(&mut self, id: u32) {
        if id == ROOT {
            return;
        }
        *self.node_mut(id) = Node::new(Box::default(), ROOT);
        self.free.push(id);
    }

    /// The node for `key`, created (vacant) if missing. `None` when the arena is exhausted.
    pub(crate) fn insert(&mut self, key: &[u8]) -> Option<u32> {
        // An insertion creates at most two nodes (a split point and a leaf).
        if !self.can_alloc(2) {
            return None;
        }
        let mut id = ROOT;
        let mut pos = 0usize;
        loop {
            let Some(&byte) = key.get(pos) else {
                return Some(id);
            };
            let rest = key.get(pos..).unwrap_or_default();
            let slot = self.node(id).children.binary_search_by_key(&byte, |c| c.0);
            let at = match slot {
                Err(at) => {
                    let leaf = self.alloc(rest.into(), id);
                    self.node_mut(id).children.insert(at, (byte, leaf));
                    return Some(leaf);
                }
                Ok(at) => at,
            };
            let child = self.node(id).children.get(at).map_or(ROOT, |c| c.1);
            let label = &self.node(child).label;
            let common = common_prefix(label, rest);
            if common == label.len() {
                pos += common;
                id = child;
                continue;
            }
            // The key leaves the child's label part-way (common >= 1 because the first bytes
            // match): split the label at `common` with a new vacant node.
            let head: Box<[u8]> = label.get(..common).unwrap_or_default().into();
            let tail: Box<[u8]> = label.get(common..).unwrap_or_default().into();
            let tail_first = tail.first().copied().unwrap_or_default();
            let mid = self.alloc(head, id);
            let child_node = self.node_mut(child);
            child_node.label = tail;
            child_node.parent = mid;
            self.node_mut(mid).children.push((tail_first, child));
            if let Some(entry) = self.node_mut(id).children.get_mut(at) {
                entry.1 = mid;
            }
            pos += common;
            id = mid;
        }
    }

    /// Restores the invariants after the value at `id` may have become vacant: removes vacant
    /// leaves bottom-up and merges a vacant node with a single child into that child.
    pub(crate) fn prune(&mut self, mut id: u32) {
        while id != ROOT {
            let node = self.node(id);
            if !node.value.is_vacant() {
                return;
            }
            let parent = node.parent;
            let first = node.label.first().copied().unwrap_or_default();
            match node.children.len() {
                0 => {
                    let siblings = &mut self.node_mut(parent).children;
                    if let Ok(at) = siblings.binary_search_by_key(&first, |c| c.0) {
                        siblings.remove(at);
                    }
                    self.release(id);
                    id = parent;
                }
                1 => {
                    let child = node.children.first().map_or(ROOT, |c| c.1);
                    let merged: Box<[u8]> =
                        [&*node.label, &*self.node(child).label].concat().into();
                    let child_node = self.node_mut(child);
                    child_node.label = merged;
                    child_node.parent = parent;
                    let siblings = &mut self.node_mut(parent).children;
                    if let Ok(at) = siblings.binary_search_by_key(&first, |c| c.0) {
                        if let Some(entry) = siblings.get_mut(at) {
                            entry.1 = child;
                        }
                    }
                    self.release(id);
                    return;
                }
                _ => return,
            }
        }
    }

    /// Writes the key of node `id` into `buf` (replacing its contents).
    pub(crate) fn key_into(&self, id: u32, buf: &mut Vec<u8>) {
        buf.clear();
        // Bound the walks by the arena size so a broken invariant cannot loop forever.
        let mut total = 0usize;
        let mut cur = id;
        for _ in 0..self.nodes.len() {
            if cur == ROOT {
                break;
            }
            let node = self.node(cur);
            total += node.label.len();
            cur = node.parent;
        }
        buf.resize(total, 0);
        let mut end = total;
        cur = id;
        for _ in 0..self.nodes.len() {
            if cur == ROOT {
                break;
            }
            let node = self.node(cur);
            let start = end.saturating_sub(node.label.len());
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(&node.label);
            }
            end = start;
            cur = node.parent;
        }
    }

    /// The nodes whose keys are prefixes of `data`, shortest first (the root comes first).
    pub(crate) fn path<'a>(&'a self, data: &'a [u8]) -> Path<'a, V> {
        Path {
            radix: self,
            rest: data,
            next: Some(ROOT),
        }
    }

    /// Occupied nodes with their keys, in lexicographic key order.
    pub(crate) fn entries(&self) -> Entries<'_, V> {
        Entries {
            radix: self,
            stack: vec![(ROOT, 0)],
            buf: Vec::new(),
        }
    }
}

/// Iterator over the nodes on the path spelled by some data. See [`Radix::path`].
pub(crate) struct Path<'a, V> {
    radix: &'a Radix<V>,
    rest: &'a [u8],
    next: Option<u32>,
}

impl<'a, V: NodeValue> Iterator for Path<'a, V> {
    type Item = &'a V;

    fn next(&mut self) -> Option<&'a V> {
        let id = self.next.take()?;
        let node = self.radix.node(id);
        if let Some(&byte) = self.rest.first() {
            if let Some(child) = node.child(byte) {
                if let Some(rest) = self.rest.strip_prefix(&*self.radix.node(child).label) {
                    self.rest = rest;
                    self.next = Some(child);
                }
            }
        }
        Some(&node.value)
    }
}

/// Depth-first iterator over the occupied nodes. See [`Radix::entries`].
pub(crate) struct Entries<'a, V> {
    radix: &'a Radix<V>,
    /// Nodes still to visit, with the key length of their parent.
    stack: Vec<(u32, usize)>,
    buf: Vec<u8>,
}

impl<'a, V: NodeValue> Iterator for Entries<'a, V> {
    type Item = (Bytes, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((id, base)) = self.stack.pop() {
            let node = self.radix.node(id);
            self.buf.truncate(base);
            self.buf.extend_from_slice(&node.label);
            let len = self.buf.len();
            self.stack
                .extend(node.children.iter().rev().map(|&(_, child)| (child, len)));
            if !node.value.is_vacant() {
                return Some((Bytes::copy_from_slice(&self.buf), &node.value));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl NodeValue for bool {
        fn is_vacant(&self) -> bool {
            !*self
        }
    }

    fn set(r: &mut Radix<bool>, key: &[u8]) {
        let id = r.insert(key).unwrap();
        *r.value_mut(id) = true;
    }

    fn unset(r: &mut Radix<bool>, key: &[u8]) {
        let id = r.find(key).unwrap();
        *r.value_mut(id) = false;
        r.prune(id);
    }

    #[test]
    fn split_merge_and_keys() {
        let mut r = Radix::<bool>::default();
        set(&mut r, b"abcd");
        set(&mut r, b"abxy");
        set(&mut r, b"ab");
        set(&mut r, b"");
        let keys: Vec<Bytes> = r.entries().map(|e| e.0).collect();
        assert_eq!(
            keys,
            ["", "ab", "abcd", "abxy"].map(|k| Bytes::from_static(k.as_bytes()))
        );
        let id = r.find(b"abxy").unwrap();
        let mut buf = Vec::new();
        r.key_into(id, &mut buf);
        assert_eq!(buf, b"abxy");
        assert_eq!(r.path(b"abcde").filter(|v| **v).count(), 3);
        assert_eq!(r.path(b"abc").filter(|v| **v).count(), 2);
        unset(&mut r, b"ab");
        unset(&mut r, b"abcd");
        // Only the root and the merged "abxy" leaf remain.
        assert_eq!(r.live_nodes(), 2);
        r.key_into(id, &mut buf);
        assert_eq!(buf, b"abxy");
        unset(&mut r, b"abxy");
        unset(&mut r, b"");
        assert_eq!(r.live_nodes(), 1);
        assert!(r.find(b"a").is_none());
    }
}
