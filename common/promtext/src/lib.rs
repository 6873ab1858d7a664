//! What both processes need to be scraped by Prometheus: the text exposition format 0.0.4
//! written family by family straight into a stream (`encode`), so that a page of 100,000
//! SAs is never held in memory, and a small HTTP/1.x server that answers `GET /metrics`
//! and nothing else (`http`).
#![forbid(unsafe_code)]

pub mod encode;
pub mod http;
pub mod scrape;

pub use encode::{Encoder, Family, Kind};
pub use http::{serve, MetricsServer, CONTENT_TYPE};
