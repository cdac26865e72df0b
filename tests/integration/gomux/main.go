// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the mod_goapi authors; see LICENSE.

// The Go 1.22 server that test_gomux.py sends the same requests to as
// mod_goapi: net/http's ServeMux with the design's patterns, and handlers
// that answer as mod_goapi's routes do, so that any difference in the
// answers comes from routing.  Usage: gomux 127.0.0.1:0; it prints
// "listening <addr>" once it accepts connections.
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// parcelIDProblem applies mod_goapi's rules for a {parcelID}, in its order.
func parcelIDProblem(id string) string {
	if len(id) > 128 {
		return "must be at most 128 bytes"
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c == 0x7f {
			return "must not contain control characters"
		} else if c == '/' {
			return "must not contain '/'"
		}
	}
	if !utf8.ValidString(id) {
		return "must be valid UTF-8"
	}
	if id == "." || id == ".." {
		return "must not be '.' or '..'"
	}
	return ""
}

func text(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func fixed(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { text(w, http.StatusOK, body) }
}

// parcel runs next with a valid parcel ID, or refuses it as mod_goapi does.
func parcel(next func(http.ResponseWriter, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("parcelID")
		if why := parcelIDProblem(id); why != "" {
			text(w, http.StatusBadRequest, "invalid parcelID: "+why+"\n")
			return
		}
		next(w, id)
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gomux host:port")
		os.Exit(2)
	}
	var dispatches atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", fixed("parcel service is reachable\n"))
	mux.HandleFunc("GET /healthz", fixed("ok\n"))
	mux.HandleFunc("GET /livez", fixed("ok\n"))
	mux.HandleFunc("GET /readyz", fixed("ready\n"))
	mux.HandleFunc("GET /startupz", fixed("started\n"))
	mux.HandleFunc("GET /parcels/{parcelID}", parcel(func(w http.ResponseWriter, id string) {
		text(w, http.StatusOK, "parcel lookup accepted for "+id+"\n")
	}))
	mux.HandleFunc("POST /parcels/{parcelID}/dispatch", parcel(func(w http.ResponseWriter, id string) {
		n := dispatches.Add(1)
		w.Header().Set("Location", fmt.Sprintf("/parcels/%s/dispatches/%d", url.PathEscape(id), n))
		text(w, http.StatusCreated, fmt.Sprintf("dispatch %d created for %s\n", n, id))
	}))

	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	os.Stdout.Sync()
	srv := &http.Server{Handler: mux, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, srv.Serve(ln))
	os.Exit(1)
}
