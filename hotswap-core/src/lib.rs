#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod analysis;
pub mod clock;
pub mod domain;
pub mod env;
pub mod error;
pub mod inspect;
pub mod interface;
pub mod keyvalue;
pub mod node;
pub mod notify;
pub mod observe;
pub mod repository;
pub mod retry;
pub mod runtime;
pub mod secrets;
pub mod storage;

pub use error::{Error, LimitKind, ResourceKind, Result};
