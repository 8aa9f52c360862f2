#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod clock;
pub mod control;
pub mod domain;
pub mod edge;
pub mod env;
pub mod error;
pub mod inspect;
pub mod interface;
pub mod observe;
pub mod repository;
pub mod runtime;
pub mod storage;
pub mod strategy;

pub use error::{Error, Result};
