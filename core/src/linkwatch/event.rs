//! What the watcher reports.

use super::changes::Changes;
use super::link::Link;

/// One change of the link table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A link appeared (created, or moved into the namespace).
    Added(Link),
    /// A link's tracked fields changed; `changes` names exactly which.
    Changed {
        /// The state before.
        old: Link,
        /// The state now.
        new: Link,
        /// The fields that differ between `old` and `new`.
        changes: Changes,
    },
    /// A link went away (deleted, or moved out of the namespace: both arrive as
    /// `RTM_DELLINK`). Carries the last state known.
    Removed(Link),
}

impl Event {
    /// The link the event is about (the new state for [`Event::Changed`]).
    pub fn link(&self) -> &Link {
        match self {
            Event::Added(l) | Event::Removed(l) => l,
            Event::Changed { new, .. } => new,
        }
    }

    /// Applies the event to a consumer's table keyed by ifindex.
    pub fn apply(&self, table: &mut std::collections::HashMap<u32, Link>) {
        match self {
            Event::Added(l) => {
                table.insert(l.index, l.clone());
            }
            Event::Changed { new, .. } => {
                table.insert(new.index, new.clone());
            }
            Event::Removed(l) => {
                table.remove(&l.index);
            }
        }
    }
}
