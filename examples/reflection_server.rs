//! A server that describes itself: a `#[service(schema)]` service (names, types, doc comments
//! and JSON Schemas), a handler registered by hand (its name only), and the reflection service
//! that `fastrpc describe` asks:
//!
//!     cargo run --example reflection_server --features schema -- 127.0.0.1:8972
//!     fastrpc describe tcp@127.0.0.1:8972

use fastrpc::schemars::JsonSchema;
use fastrpc::{Context, Server, ServiceError};
use serde::{Deserialize, Serialize};

/// A point on a labelled map.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct Point {
    x: i32,
    y: i32,
    label: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "fastrpc::schemars")]
struct ScaleArgs {
    point: Point,
    factor: f64,
}

struct Geometry;

#[fastrpc::service(schema)]
impl Geometry {
    /// Scales a point away from the origin.
    async fn scale(&self, args: ScaleArgs) -> Point {
        let f = |v: i32| (f64::from(v) * args.factor).round() as i32;
        Point {
            x: f(args.point.x),
            y: f(args.point.y),
            label: args.point.label,
        }
    }

    /// The points' centre, or an error for none.
    async fn centre(&self, points: Vec<Point>) -> Result<Point, ServiceError> {
        let n = i32::try_from(points.len()).map_err(|_| ServiceError::new("too many points"))?;
        if n == 0 {
            return Err(ServiceError::new("no points"));
        }
        let (x, y) = points.iter().fold((0, 0), |(x, y), p| (x + p.x, y + p.y));
        Ok(Point {
            x: x / n,
            y: y / n,
            label: None,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8972".to_owned());
    let server = Server::builder()
        .service(Geometry)
        .handler("Clock", "Now", |_c: Context, _: ()| async move {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            Ok::<_, ServiceError>(now.map(|d| d.as_secs()).unwrap_or(0))
        })
        .reflection()
        .build();
    let running = server.serve(&addr).await?;
    println!(
        "serving Geometry, Clock and Reflection on {}",
        running.addr()
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(())
}
