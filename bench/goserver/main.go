// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the mod_goapi authors; see LICENSE.
// goserver: the benchmark's Go peer.  A net/http server written the way the
// design mod_goapi follows describes a production Go service: port and
// timeouts from configuration, explicit read, write and idle deadlines, the
// routes /, /healthz, /readyz, /startupz and GET /parcels/{parcelID}, a
// middleware that reads or creates X-Request-ID, sets X-Correlation-ID and
// writes one log line per request, and a graceful stop on SIGTERM.
// Standard library only; Go 1.22 (Debian's golang-1.22-go) for its
// ServeMux patterns.
//
//	goserver -addr 127.0.0.1:8080 -log /path/access.log
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	addr              string
	readTimeout       time.Duration
	readHeaderTimeout time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	shutdownTimeout   time.Duration
	logPath           string
}

func loadConfig() config {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	flag.DurationVar(&c.readTimeout, "read-timeout", 5*time.Second, "whole request")
	flag.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "request headers")
	flag.DurationVar(&c.writeTimeout, "write-timeout", 10*time.Second, "response")
	flag.DurationVar(&c.idleTimeout, "idle-timeout", 60*time.Second, "keep-alive idle time")
	flag.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 3*time.Second, "graceful stop window")
	flag.StringVar(&c.logPath, "log", "", "access log file (default stderr)")
	flag.Parse()
	return c
}

// newUUIDv7 returns a lowercase UUIDv7 (RFC 9562): a millisecond timestamp
// and random bits.
func newUUIDv7() string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err)
	}
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	b[6] = 0x70 | (b[6] & 0x0f)
	b[8] = 0x80 | (b[8] & 0x3f)
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// validID: what the service accepts from a client as an ID.
func validID(v string) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.:+/=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	correlationIDKey
)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// withIDs reads or creates X-Request-ID, sets X-Correlation-ID, forwards
// both in the request's headers and context, and logs one line per request.
func withIDs(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-ID")
		if !validID(rid) {
			rid = newUUIDv7()
			r.Header.Set("X-Request-ID", rid)
		}
		cid := r.Header.Get("X-Correlation-ID")
		if !validID(cid) {
			cid = rid
			r.Header.Set("X-Correlation-ID", cid)
		}
		w.Header().Set("X-Request-ID", rid)
		w.Header().Set("X-Correlation-ID", cid)
		ctx := context.WithValue(r.Context(), requestIDKey, rid)
		ctx = context.WithValue(ctx, correlationIDKey, cid)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		logger.Printf("request_id=%s correlation_id=%s path=%s method=%s status=%d bytes=%d duration_ms=%d client=%s",
			rid, cid, r.URL.Path, r.Method, sw.status, sw.bytes,
			time.Since(start).Milliseconds(), r.RemoteAddr)
	})
}

func text(w http.ResponseWriter, status int, body string, probe bool) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if probe {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// routes: Go 1.22's ServeMux with the design's method patterns; the mux
// itself answers 404, and 405 with Allow.
func routes(ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "parcel service is reachable\n", false)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "ok\n", true)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			text(w, http.StatusServiceUnavailable, "not ready\n", true)
			return
		}
		text(w, http.StatusOK, "ready\n", true)
	})
	mux.HandleFunc("GET /startupz", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "started\n", true)
	})
	mux.HandleFunc("GET /parcels/{parcelID}", func(w http.ResponseWriter, r *http.Request) {
		text(w, http.StatusOK, "parcel lookup accepted for "+r.PathValue("parcelID")+"\n", false)
	})
	return mux
}

func main() {
	cfg := loadConfig()
	out := io.Writer(os.Stderr)
	if cfg.logPath != "" {
		f, err := os.OpenFile(cfg.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		out = f
	}
	logger := log.New(out, "", log.LstdFlags|log.LUTC)
	var ready atomic.Bool
	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           withIDs(logger, routes(&ready)),
		ReadTimeout:       cfg.readTimeout,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	errs := make(chan error, 1)
	go func() { errs <- srv.ListenAndServe() }()
	ready.Store(true)
	select {
	case err := <-errs:
		log.Fatal(err)
	case <-stop:
	}
	ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Printf("shutdown: %v", err)
	}
}
