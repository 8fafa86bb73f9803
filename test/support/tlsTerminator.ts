/**
 * A TLS server in front of a plain TCP port, for tests of the https path:
 * it decrypts and pipes bytes both ways, as a TLS-terminating proxy or CDN
 * edge would. The certificate is self-signed, made by the `openssl` CLI,
 * and names 127.0.0.1 in its subjectAltName so a client that trusts it
 * (NODE_EXTRA_CA_CERTS=<certPath>) accepts https://127.0.0.1:<port>.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server, type TLSSocket } from "node:tls";

export interface SelfSignedCert {
	/** PEM certificate: give it as NODE_EXTRA_CA_CERTS or `ca`. */
	certPath: string;
	keyPath: string;
	cert: Buffer;
	key: Buffer;
	/** Removes the folder holding both files. */
	remove(): void;
}

/** Makes a self-signed P-256 certificate for 127.0.0.1 and localhost in a new temp folder. */
export function makeSelfSignedCert(): SelfSignedCert {
	const dir = mkdtempSync(join(tmpdir(), "modelfs-tls-"));
	const certPath = join(dir, "cert.pem");
	const keyPath = join(dir, "key.pem");
	try {
		execFileSync(
			"openssl",
			[
				"req",
				"-x509",
				"-newkey",
				"ec",
				"-pkeyopt",
				"ec_paramgen_curve:prime256v1",
				"-nodes",
				"-keyout",
				keyPath,
				"-out",
				certPath,
				"-days",
				"2",
				"-subj",
				"/CN=127.0.0.1",
				"-addext",
				"subjectAltName=IP:127.0.0.1,DNS:localhost",
				"-addext",
				"basicConstraints=critical,CA:TRUE",
			],
			{ stdio: ["ignore", "ignore", "pipe"] },
		);
	} catch (err) {
		rmSync(dir, { recursive: true, force: true });
		throw err;
	}
	return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StartTlsTerminatorParams {
	/** The plain TCP port on 127.0.0.1 that decrypted bytes go to. */
	targetPort: number;
	/** A certificate to serve. @default a new self-signed one, removed by close() */
	cert?: SelfSignedCert;
}

export interface RunningTlsTerminator {
	/** `https://127.0.0.1:<port>` */
	url: string;
	port: number;
	/** The certificate's PEM file (NODE_EXTRA_CA_CERTS). */
	certPath: string;
	cert: Buffer;
	/** TLS connections accepted so far. */
	connections: number;
	/** Stops listening, cuts open connections, removes a certificate it made. */
	close(): Promise<void>;
}

/** Listens on 127.0.0.1 (any free port) with TLS and forwards each connection to `targetPort`. */
export async function startTlsTerminator(params: StartTlsTerminatorParams): Promise<RunningTlsTerminator> {
	const own = params.cert === undefined;
	const cert = params.cert ?? makeSelfSignedCert();
	const open = new Set<Socket>();
	const track = (s: Socket): void => {
		open.add(s);
		s.on("close", () => open.delete(s));
	};
	const server: Server = createServer({ cert: cert.cert, key: cert.key, ALPNProtocols: ["http/1.1"] }, (clear: TLSSocket) => {
		result.connections++;
		const plain = connect({ host: "127.0.0.1", port: params.targetPort, noDelay: true });
		track(clear);
		track(plain);
		clear.pipe(plain);
		plain.pipe(clear);
		// An end is passed on by pipe() (with a TLS close_notify); a failure on
		// either side cuts both, so a cut upstream reaches the client.
		clear.on("error", () => plain.destroy());
		plain.on("error", () => clear.destroy());
		clear.on("close", () => plain.destroy());
	});
	// Handshakes a client aborts are not the test's business.
	server.on("tlsClientError", () => undefined);
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	let closed = false;
	const result: RunningTlsTerminator = {
		url: `https://127.0.0.1:${port}`,
		port,
		certPath: cert.certPath,
		cert: cert.cert,
		connections: 0,
		async close() {
			if (closed) return;
			closed = true;
			for (const s of open) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
			if (own) cert.remove();
		},
	};
	return result;
}
