//! Discrete-event model of both designs in virtual time.
