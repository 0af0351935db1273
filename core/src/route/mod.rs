//! Route programming over rtnetlink and the BGP route export engine.
