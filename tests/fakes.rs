//! Self-tests of the fake networks in `support/fakes/`: driven by hand as the gateway would,
//! they must accept what the real networks accept and reject what they reject, the way the
//! real ones do, so that a gateway test passing against them means something.

mod selftest;
mod support;
