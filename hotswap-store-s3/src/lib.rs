#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod config;
mod storage;

pub use config::{Backend, DEFAULT_BUCKET, ObjectStorageConfig};
pub use storage::ObjectStorage;
