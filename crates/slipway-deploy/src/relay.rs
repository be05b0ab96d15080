//! [`Relays`]: the proxy, offered to containers at the host's address on their network.
//!
//! A container cannot reach the proxy on the host's loopback, which inside it is the container
//! itself. The host also has an address on each container network, its gateway, which containers
//! reach it by ([`slipway_runtime::HOST_ALIAS`]). A relay listens there, on the proxy's port, and
//! passes each connection to the proxy as it is, so a container's call to another service of its
//! environment is routed by the proxy like any other: blue-green switches and canary weights hold,
//! and services running as processes answer too.
//!
//! A relay's socket is bound with `IP_FREEBIND`: the engine assigns the gateway address to the
//! host only once the network's first container starts, and the relay must be listening before
//! that container makes its first call.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd as _;
use std::sync::{Mutex, PoisonError};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, listen, setsockopt, socket,
    sockopt,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The relays of one proxy, one per gateway address.
#[derive(Debug)]
pub(crate) struct Relays {
    proxy: SocketAddr,
    open: Mutex<BTreeMap<IpAddr, JoinHandle<()>>>,
}

impl Relays {
    /// Relays to the proxy at `proxy`; none yet.
    pub(crate) fn new(proxy: SocketAddr) -> Relays {
        Relays {
            proxy,
            open: Mutex::default(),
        }
    }

    /// Makes the relays exactly one per address of `gateways`: opens what is missing, closes
    /// those of networks that are gone. A relay that cannot listen is logged, and tried again on
    /// the next call.
    pub(crate) fn sync(&self, gateways: &[IpAddr]) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|address, task| {
            let wanted = gateways.contains(address);
            if !wanted {
                tracing::info!(%address, "closing the relay of a network that is gone");
                task.abort();
            }
            wanted
        });
        for &gateway in gateways {
            if open.contains_key(&gateway) {
                continue;
            }
            let IpAddr::V4(address) = gateway else {
                // Engines give bridge networks an IPv4 subnet; the proxy serves IPv4 loopback.
                continue;
            };
            let listen_at = SocketAddrV4::new(address, self.proxy.port());
            match listen_freely(listen_at) {
                Ok(listener) => {
                    tracing::info!(address = %listen_at, "the proxy is offered to containers");
                    open.insert(gateway, tokio::spawn(relay(listener, self.proxy)));
                }
                Err(error) => {
                    tracing::warn!(address = %listen_at, %error, "cannot offer the proxy to containers");
                }
            }
        }
    }

    /// Where relays listen now.
    pub(crate) fn addresses(&self) -> Vec<SocketAddr> {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.keys()
            .map(|&address| SocketAddr::new(address, self.proxy.port()))
            .collect()
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        let open = self.open.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in open.values() {
            task.abort();
        }
    }
}

/// A listener on `address`, which need not be the host's yet (`IP_FREEBIND`).
fn listen_freely(address: SocketAddrV4) -> io::Result<TcpListener> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    setsockopt(&fd, sockopt::IpFreebind, &true)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(address))?;
    listen(&fd, Backlog::new(1024)?)?;
    TcpListener::from_std(std::net::TcpListener::from(fd))
}

/// Passes every connection `listener` accepts to `proxy`, both ways, until aborted.
async fn relay(listener: TcpListener, proxy: SocketAddr) {
    loop {
        let (mut client, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, typically: the next accept may succeed.
                tracing::warn!(%error, "a relay cannot accept a connection");
                tokio::task::yield_now().await;
                continue;
            }
        };
        tokio::spawn(async move {
            match TcpStream::connect(proxy).await {
                Ok(mut upstream) => {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
                Err(error) => tracing::warn!(%proxy, %error, "a relay cannot reach the proxy"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An echo server standing in for the proxy.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn a_relay_passes_connections_on_and_closes_with_its_network() {
        let proxy = echo().await;
        let relays = Relays::new(proxy);
        // 127.0.0.2 is the host's on Linux (all of 127/8 is loopback), standing in for a gateway.
        let gateway: IpAddr = "127.0.0.2".parse().unwrap();
        relays.sync(&[gateway]);
        let at = SocketAddr::new(gateway, proxy.port());
        assert_eq!(relays.addresses(), [at]);

        let mut stream = TcpStream::connect(at).await.unwrap();
        stream.write_all(b"through the relay").await.unwrap();
        let mut answer = [0; 17];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"through the relay");

        relays.sync(&[gateway]);
        assert_eq!(relays.addresses(), [at], "syncing again keeps the relay");
        relays.sync(&[]);
        assert!(relays.addresses().is_empty());
    }

    #[test]
    fn an_address_not_yet_the_hosts_can_be_listened_on() {
        // TEST-NET-3 is never assigned to a host, as a gateway is not before its bridge is up.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let address = SocketAddrV4::new("203.0.113.7".parse().unwrap(), 0);
        assert!(listen_freely(address).is_ok());
        assert!(
            std::net::TcpListener::bind(address).is_err(),
            "not the host's"
        );
    }
}
