//! The storage conformance suite: one set of behaviours every adapter must show.
