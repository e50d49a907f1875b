//! Raw peers' bytes, built here by hand (not with monocoque's encoder, so that a test does not
//! grade its own homework), the endpoint's port they connect to, and the process's file limit
//! that many raw connections need.

use monocoque::Endpoint;

/// A ZMTP 3.1 NULL greeting (RFC 37 worked example).
pub fn null_greeting() -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A READY command announcing `socket_type`.
pub fn ready_command(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5u8];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// The port of a `tcp://host:port` endpoint.
pub fn port_of(endpoint: &Endpoint) -> u16 {
    let s = endpoint.to_string();
    s.rsplit(':').next().unwrap().parse().unwrap()
}

/// The process's soft limit on open files.
pub fn soft_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct passed.
    unsafe { assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0) };
    limit.rlim_cur
}

/// Sets the process's soft limit on open files to `soft` (at most the hard limit).
pub fn set_soft_open_files(soft: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read only the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = soft.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}
