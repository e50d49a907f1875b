//! The [`Context`]: which runtime a socket runs on and which transports it can use.

use crate::socket::inproc::InprocRegistry;
use crate::zap::{LibzmqZap, ZapHandler};
use hashbrown::HashMap;
use monocoque_core::runtime::RuntimeHandle;
use monocoque_core::transport::Transport;
use std::fmt;
use std::sync::Arc;

/// A runtime plus a registry of transports by scheme (and of `inproc://` names: sockets meet
/// over inproc only within one context and its clones). Cheap to clone; every socket made from it
/// spawns its connection tasks on the runtime and finds `tcp://`, `ipc://`, ... transports here.
///
/// The `monocoque` facade crate builds ready-made contexts (`monocoque::tokio::context()`, ...).
#[derive(Clone)]
pub struct Context {
    runtime: RuntimeHandle,
    transports: Arc<HashMap<&'static str, Arc<dyn Transport>>>,
    /// `inproc://` names bound by this context's sockets (shared by its clones).
    inproc: Arc<InprocRegistry>,
    /// Authenticates the clients of PLAIN and CURVE servers.
    zap: Option<Arc<dyn ZapHandler>>,
}

impl Context {
    /// A context on `runtime` with no transports yet.
    #[must_use]
    pub fn new(runtime: RuntimeHandle) -> Self {
        Self {
            runtime,
            transports: Arc::new(HashMap::new()),
            inproc: Arc::new(InprocRegistry::default()),
            zap: None,
        }
    }

    /// Authenticates the clients of this context's PLAIN and CURVE server sockets with
    /// `handler` (libzmq: a ZAP handler bound at `inproc://zeromq.zap.01`). Sockets made from
    /// the returned context use it for the endpoints they bind or connect afterwards. See
    /// [`zap`](crate::zap) for what happens without one.
    #[must_use]
    pub fn with_zap_handler(mut self, handler: impl ZapHandler) -> Self {
        self.zap = Some(Arc::new(handler));
        self
    }

    /// The ZAP handler: the one installed, else libzmq's way (the inproc ZAP socket when one
    /// is bound, else libzmq's behaviour without a handler, stricter with `enforce_domain`).
    pub(crate) fn zap_handler(&self, enforce_domain: bool) -> Arc<dyn ZapHandler> {
        match &self.zap {
            Some(handler) => handler.clone(),
            None => Arc::new(LibzmqZap {
                ctx: self.clone(),
                enforce_domain,
            }),
        }
    }

    /// Adds (or replaces) the transport for its scheme.
    #[must_use]
    pub fn with_transport(mut self, transport: impl Transport) -> Self {
        let transport: Arc<dyn Transport> = Arc::new(transport);
        Arc::make_mut(&mut self.transports).insert(transport.scheme(), transport);
        self
    }

    /// The runtime.
    #[must_use]
    pub fn runtime(&self) -> &RuntimeHandle {
        &self.runtime
    }

    /// The `inproc://` registry.
    pub(crate) fn inproc(&self) -> &InprocRegistry {
        &self.inproc
    }

    /// The transport registered for `scheme`, if any.
    #[must_use]
    pub fn transport(&self, scheme: &str) -> Option<&Arc<dyn Transport>> {
        self.transports.get(scheme)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("runtime", &self.runtime.name())
            .field("transports", &self.transports.keys().collect::<Vec<_>>())
            .field("zap_handler", &self.zap.is_some())
            .finish()
    }
}
