// Package labtls gives a simulated mail world real TLS: a certificate
// authority, host certificates good and bad, and crypto/tls handshakes whose
// bytes the simulated network carries like any others.
//
// # Certificates
//
// The lab never generates a key while it runs. keys.pem, embedded in the
// package, holds Ed25519 keys made once by genkeys.go (`go generate
// ./engine/labtls`): one for the CA and a small pool for hosts. They are
// public test keys. NewAuthority signs the CA certificate and
// Authority.Issue signs host certificates; Ed25519 signatures are cheap
// and deterministic, and serials and dates derive from the host name, the
// variant and the world's start time, never from the wall clock, so the
// same world always has the same certificates. The variants a scenario can
// give a host are Good, Expired, WrongName and SelfSigned; each bad one
// breaks exactly one check. A server that offers no STARTTLS, or a man in
// the middle who strips it, is the SMTP layers' business: a relay's
// outboundTLS setting (engine/mta) decides what its client does about it.
//
// # DANE
//
// A client may check the certificate against TLSA records instead of the
// CA (Client.TLSA), as an SMTP client does when the server's domain
// publishes them in DNSSEC-signed DNS (RFC 7672, RFC 6698): DANE-EE(3)
// records name the server's own key and skip the name and date checks,
// DANE-TA(2) records name a trust anchor the server must send in its chain.
// The match is computed over the certificate the handshake presented, with
// the digests RFC 6698 §2.1 defines. HostTLSA gives the 3 1 1 record of a
// host's key, which every variant of its certificate shares, for scenarios
// to publish; a record that matches nothing fails the check as
// CheckTLSA.
//
// # Configurations
//
// Client and Server describe the two ends; their TLSConfig methods return
// tls.Configs whose Time is the virtual clock (see Clock), so a certificate
// expires when the simulated calendar says so. The client's certificate
// checks are the lab's own (chain to the world's CA, dates, name), run from
// VerifyConnection: with Client.Verify a failure ends the handshake with a
// bad_certificate alert, as Go's own check would; without it the result is
// only recorded, which is what opportunistic TLS does.
//
// # Handshakes without goroutines afterwards
//
// Handshake runs a real handshake between the two ends in memory. Inside it
// the two tls.Conns run on two goroutines that strictly take turns (a side
// runs until it must wait for its peer), which makes the order of flights
// and of random reads independent of scheduling; both goroutines are done
// before Handshake returns. The Result lists every flight of bytes with its
// direction, for the simulated network to put on the wire with its latency
// (simnet's Conn.WriteRaw), and gives each side a Codec.
//
// A Codec's Seal and Open drive the same tls.Conn over an in-memory
// connection that never blocks: when no bytes are buffered its Read returns
// a net.Error whose Temporary method reports true. Go 1.26's crypto/tls
// (conn.go, readRecordOrCCS) returns such an error to the caller without
// recording it as the connection's permanent error and keeps the part of a
// record it has already read, so Open can be called again with the rest.
// The handshake itself cannot be driven that way: a handshake error,
// temporary or not, is kept for good (conn.go, handshakeContext), hence
// the goroutines inside Handshake.
//
// A failed handshake returns a *HandshakeError saying which check failed
// (Check), the alert that ended it and who sent it, and what each side's
// crypto/tls returned; its Error says in plain words what the client found
// ("the certificate of mx.example.org expired on 2026-01-04"), for the
// people who read a relay's queue and its bounces. Facts, and Result.Event for tls.step trace events,
// tell the learner what happened: versions offered and agreed, cipher
// suite, SNI, ALPN, the certificate's subject, issuer and dates, and the
// verification result. Each Flight carries the steps to trace as it leaves;
// Result.After has those to trace once the last flight has arrived.
//
// # Determinism
//
// Go 1.26 ignores the rand arguments of crypto/ecdh, crypto/ecdsa,
// crypto/rsa and similar (GODEBUG cryptocustomrand, default 0) and always
// uses the system's randomness; crypto/tls still reads its hello randoms,
// session IDs and ML-KEM seeds from tls.Config.Rand, but gets its X25519
// keys from crypto/ecdh. ML-KEM encapsulation takes no rand at all. So:
//
//   - By default, a seeded Rand (NewRand) fixes the size of every flight
//     and record and the hello randoms, but not the key shares, hence not
//     one encrypted byte.
//   - With GODEBUG cryptocustomrand=1 the bytes on the wire repeat exactly
//     for the same seeds on the same kind of machine (TestDeterminism
//     checks both). Across machines they do not: Go's client lists the
//     TLS 1.3 cipher suites in the order the hardware favours, AES-GCM
//     first where the CPU has AES instructions and ChaCha20-Poly1305
//     first in WebAssembly, with no setting to change it, so the
//     ClientHello and every key after it differ between the page and a
//     native run, though the suite chosen (ChaCha20-Poly1305: see
//     Client.MaxVersion) and every size are the same
//     (engine/lab's TestTracesMatchGolden compares all the rest). Declare it once for
//     the whole module with a `godebug cryptocustomrand=1` line in go.mod
//     (SMTP Lab's has it), which covers every main package and test binary
//     built in the module, or with
//     a `//go:debug cryptocustomrand=1` line above the package clause of
//     each main package and of a _test.go file in each tested package. Go
//     plans to remove the setting in a later release.
//
// With the setting on, crypto packages that honour a custom reader first
// read one byte from it or not at random (randutil.MaybeReadByte);
// NewRand's stream does not move on one-byte reads, so that coin toss
// changes nothing. (They also panic on a nil reader: where Go's APIs are
// called directly, pass crypto/rand.Reader, never nil.)
//
// To keep sizes fixed the lab offers only X25519 (no hybrid ML-KEM share,
// which is random whatever the setting and adds about 2 KB) and, for
// TLS 1.2, only ECDHE-ECDSA-CHACHA20-POLY1305; Ed25519 signatures always
// have 64 bytes, and session tickets are off. Because the client's TLS 1.2
// list holds no AES-GCM suite, servers pick TLS_CHACHA20_POLY1305_SHA256
// for TLS 1.3 on every CPU. The client hello still lists the TLS 1.3
// suites in an order that depends on whether the CPU has AES instructions,
// so with TLS 1.3 the encrypted bytes, not their sizes, differ between a
// native amd64 build and WebAssembly; a world whose MaxVersion is TLS 1.2
// puts the same bytes on the wire on every platform.
package labtls
