//! Real registry servers for fastrpc's integration tests.
//!
//! Tests start their own server processes (etcd, ZooKeeper, Redis, single nodes and
//! clusters) on free loopback ports with temporary data directories, so that a test can stop,
//! kill and restart them without disturbing any other test. Every process is killed when its
//! handle is dropped.
//!
//! The binaries come from Debian's packages, installed by `cargo xtask infra install` (which
//! `cargo xtask ci` runs). When a binary is missing a test is skipped with a message naming
//! that command, unless `FASTRPC_REQUIRE_INFRA=1` is set (as `cargo xtask ci` does), in which
//! case it fails: CI must never pass by skipping.

mod etcd;
mod process;
mod prometheus;
mod proxy;
mod redis;
mod zookeeper;

pub use etcd::{Etcd, EtcdMember, EtcdPorts, etcd_args};
pub use process::{Process, TempDir, free_port, require_binary, wait_for_port};
pub use prometheus::prometheus_sample;
pub use proxy::TcpProxy;
pub use redis::RedisServer;
pub use zookeeper::{
    ZOOKEEPER_JAR, ZkPorts, ZkServer, ZooKeeper, four_letter, zookeeper_classpath, zookeeper_setup,
};
