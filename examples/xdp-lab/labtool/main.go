// labtool: the HTTP backend and the measuring clients of the XDP load balancer lab.
//
//	labtool serve -name be1 -listen :80          answer every request with "be1\n"
//	labtool spread -url URL -n 3000 -c 50         n fresh TCP connections; JSON counts by backend
//	labtool hold -url URL -go FILE               one keep-alive connection: a request, then
//	                                             another after FILE appears; prints both backends
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: labtool serve|spread|hold ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "spread":
		err = spread(os.Args[2:])
	case "hold":
		err = hold(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtool:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	name := fs.String("name", "backend", "name to answer with")
	listen := fs.String("listen", ":80", "listen address")
	fs.Parse(args)
	body := []byte(*name + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	})
	return http.ListenAndServe(*listen, h)
}

func client(keepAlive bool) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: 1,
			DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		},
	}
}

func get(c *http.Client, url string, reused *bool) (string, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if reused != nil {
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { *reused = i.Reused }}
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), nil
}

func spread(args []string) error {
	fs := flag.NewFlagSet("spread", flag.ExitOnError)
	url := fs.String("url", "", "URL")
	n := fs.Int("n", 3000, "connections")
	conc := fs.Int("c", 50, "concurrent connections")
	fs.Parse(args)
	c := client(false)
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan struct{})
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				name, err := get(c, *url, nil)
				mu.Lock()
				if err != nil {
					counts["errors"]++
				} else {
					counts[name]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(counts)
}

func hold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	url := fs.String("url", "", "URL")
	goFile := fs.String("go", "", "send the second request once this file exists")
	fs.Parse(args)
	c := client(true)
	first, err := get(c, *url, nil)
	if err != nil {
		return err
	}
	fmt.Printf("first %s\n", first)
	for {
		if _, err := os.Stat(*goFile); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var reused bool
	second, err := get(c, *url, &reused)
	if err != nil {
		return err
	}
	fmt.Printf("second %s reused=%v\n", second, reused)
	return nil
}
