// Command seesaw-overlay switches a writable Seesaw checkout to have lbnet's IPVS backend beside
// its libnl one, selected with the build tag rust_ipvs (see package
// github.com/lbnet/lbnet/go/seesaw).
//
// Usage:
//
//	seesaw-overlay -seesaw DIR -overlay DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lbnet/lbnet/go/seesaw"
)

func main() {
	dir := flag.String("seesaw", "", "writable Seesaw checkout (module github.com/google/seesaw)")
	overlay := flag.String("overlay", "", "directory with lbnet's ipvs_rust*.go files")
	flag.Parse()
	if *dir == "" || *overlay == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	log, err := seesaw.Apply(*dir, *overlay)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seesaw-overlay:", err)
		os.Exit(1)
	}
	for _, l := range log {
		fmt.Println("seesaw-overlay:", l)
	}
}
