// Package seesaw switches a Seesaw checkout (github.com/google/seesaw) from its libnl IPVS
// backend to lbnet's, behind the build tag rust_ipvs, without changing Seesaw's exported types.
//
// Seesaw keeps its IPVS types (Service, Destination, ServiceFlags, ...) and its libnl backend in
// one file, ipvs/ipvs.go, which imports cgo and github.com/google/seesaw/netlink. Apply splits
// that file by analysing its syntax tree: the exported types, their methods, the exported
// constants and everything they refer to go to ipvs/types.go (no build tag); the rest (the
// backend functions and the netlink attribute structs) goes to ipvs/ipvs_libnl.go under
// //go:build !rust_ipvs. Test files that import Seesaw's netlink package and every file of that
// package get the same constraint. Then lbnet's backend (ipvs_rust.go, //go:build rust_ipvs) is
// copied in. Nothing of Seesaw is stored in lbnet: the split is computed from the checkout.
package seesaw

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// TagRust is the build tag that selects lbnet's backend.
const TagRust = "rust_ipvs"

// netlinkImport is the import path of Seesaw's cgo libnl package.
const netlinkImport = "github.com/google/seesaw/netlink"

// backendAPI are the package-level functions of Seesaw's ipvs package that lbnet's backend
// provides; they always go to the libnl file.
var backendAPI = map[string]bool{
	"Init": true, "Version": true, "Flush": true,
	"AddService": true, "UpdateService": true, "DeleteService": true,
	"GetService": true, "GetServices": true,
	"AddDestination": true, "UpdateDestination": true, "DeleteDestination": true,
}

// Split is the result of splitting Seesaw's ipvs.go.
type Split struct {
	// Types is the source of the tag-independent file (types, methods, constants).
	Types []byte
	// Libnl is the source of the //go:build !rust_ipvs file (the libnl backend).
	Libnl []byte
	// TypesDecls and LibnlDecls name the top-level declarations in each file, for reports.
	TypesDecls, LibnlDecls []string
}

type decl struct {
	node  ast.Decl
	names []string // names it declares (methods as Recv.Name)
	start token.Pos
	end   token.Pos
}

// SplitIPVS splits the source of Seesaw's ipvs/ipvs.go (named filename for messages).
func SplitIPVS(filename string, src []byte) (*Split, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	if f.Name.Name != "ipvs" {
		return nil, fmt.Errorf("%s: package %s, want ipvs", filename, f.Name.Name)
	}
	tf := fset.File(f.Pos())
	off := func(p token.Pos) int { return tf.Offset(p) }

	// Top-level declarations other than imports.
	var decls []*decl
	byName := map[string]*decl{}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			continue
		}
		dd := &decl{node: d, start: d.Pos(), end: d.End()}
		switch x := d.(type) {
		case *ast.FuncDecl:
			if x.Doc != nil {
				dd.start = x.Doc.Pos()
			}
			if x.Recv != nil {
				dd.names = []string{recvName(x) + "." + x.Name.Name}
			} else {
				dd.names = []string{x.Name.Name}
				byName[x.Name.Name] = dd
			}
		case *ast.GenDecl:
			if x.Doc != nil {
				dd.start = x.Doc.Pos()
			}
			for _, s := range x.Specs {
				switch sp := s.(type) {
				case *ast.TypeSpec:
					dd.names = append(dd.names, sp.Name.Name)
					byName[sp.Name.Name] = dd
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						if n.Name == "_" {
							continue
						}
						dd.names = append(dd.names, n.Name)
						byName[n.Name] = dd
					}
				}
			}
		}
		decls = append(decls, dd)
	}

	// Seeds of the types file: exported types, constants and variables, and methods on
	// exported types. Exported package functions are backend API and stay with libnl.
	keep := map[*decl]bool{}
	for _, d := range decls {
		switch x := d.node.(type) {
		case *ast.FuncDecl:
			if x.Recv != nil && ast.IsExported(recvName(x)) {
				keep[d] = true
			}
		case *ast.GenDecl:
			for _, n := range d.names {
				if ast.IsExported(n) {
					keep[d] = true
				}
			}
		}
	}
	// Close over references: anything a kept declaration names is kept too.
	for changed := true; changed; {
		changed = false
		for d := range keep {
			for _, ref := range refs(d.node) {
				if dep, ok := byName[ref]; ok && !keep[dep] {
					if fn, isFn := dep.node.(*ast.FuncDecl); isFn && fn.Recv == nil && backendAPI[fn.Name.Name] {
						return nil, fmt.Errorf("%s: %s refers to backend function %s", filename, strings.Join(d.names, ","), ref)
					}
					keep[dep] = true
					changed = true
				}
			}
		}
	}
	for d := range keep {
		if usesPkg(d.node, "C") {
			return nil, fmt.Errorf("%s: %s uses cgo (C.*): the types cannot be separated from libnl", filename, strings.Join(d.names, ","))
		}
	}

	// Imports, by local name.
	type imp struct {
		name, path, text string
	}
	var imps []imp
	var cImport string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			p, _ := strconv.Unquote(is.Path.Value)
			if p == "C" {
				start := gd.Pos()
				if gd.Doc != nil {
					start = gd.Doc.Pos()
				}
				if len(gd.Specs) != 1 {
					return nil, fmt.Errorf("%s: import \"C\" grouped with other imports", filename)
				}
				cImport = string(src[off(start):off(gd.End())])
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			text := strconv.Quote(p)
			if is.Name != nil {
				name = is.Name.Name
				text = name + " " + text
			}
			imps = append(imps, imp{name, p, text})
		}
	}

	// Leading comments other than the package doc (the licence) go to both files.
	var licence []string
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		if cg == f.Doc {
			continue
		}
		licence = append(licence, string(src[off(cg.Pos()):off(cg.End())]))
	}
	pkgDoc := ""
	if f.Doc != nil {
		pkgDoc = string(src[off(f.Doc.Pos()):off(f.Doc.End())]) + "\n"
	}

	build := func(sel func(*decl) bool, tag, doc, note string) ([]byte, []string, error) {
		var b bytes.Buffer
		var names []string
		if tag != "" {
			fmt.Fprintf(&b, "//go:build %s\n\n", tag)
		}
		for _, l := range licence {
			b.WriteString(l + "\n\n")
		}
		b.WriteString(note + "\n\n")
		b.WriteString(doc)
		b.WriteString("package ipvs\n\n")
		var body bytes.Buffer
		used := map[string]bool{}
		needC := false
		for _, d := range decls {
			if !sel(d) {
				continue
			}
			names = append(names, d.names...)
			body.Write(src[off(d.start):off(d.end)])
			body.WriteString("\n\n")
			for _, im := range imps {
				if usesPkg(d.node, im.name) {
					used[im.path] = true
				}
			}
			if usesPkg(d.node, "C") {
				needC = true
			}
		}
		var list []string
		for _, im := range imps {
			if used[im.path] {
				list = append(list, im.text)
			}
		}
		sort.Strings(list)
		if len(list) > 0 {
			b.WriteString("import (\n")
			for _, l := range list {
				b.WriteString("\t" + l + "\n")
			}
			b.WriteString(")\n\n")
		}
		if needC {
			if cImport == "" {
				return nil, nil, fmt.Errorf("%s: C used without import \"C\"", filename)
			}
			b.WriteString(cImport + "\n\n")
		}
		b.Write(body.Bytes())
		out, err := format.Source(b.Bytes())
		if err != nil {
			return nil, nil, fmt.Errorf("%s: split produced invalid Go: %v", filename, err)
		}
		return out, names, nil
	}

	s := &Split{}
	s.Types, s.TypesDecls, err = build(func(d *decl) bool { return keep[d] }, "", pkgDoc,
		"// The types of package ipvs, split out of ipvs.go by lbnet's seesaw-overlay so that they\n"+
			"// are shared by the libnl backend (ipvs_libnl.go) and lbnet's (ipvs_rust.go).")
	if err != nil {
		return nil, err
	}
	s.Libnl, s.LibnlDecls, err = build(func(d *decl) bool { return !keep[d] }, "!"+TagRust, "",
		"// The libnl backend of package ipvs, split out of ipvs.go by lbnet's seesaw-overlay.\n"+
			"// Build with -tags "+TagRust+" to use lbnet's backend (ipvs_rust.go) instead.")
	if err != nil {
		return nil, err
	}
	return s, nil
}

func recvName(fn *ast.FuncDecl) string {
	t := fn.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// refs lists the identifiers a declaration uses that are not selectors' field names.
func refs(n ast.Node) []string {
	var out []string
	ast.Inspect(n, func(x ast.Node) bool {
		switch v := x.(type) {
		case *ast.Field:
			// Field and parameter names declare, they do not refer.
			if v.Type != nil {
				out = append(out, refs(v.Type)...)
			}
			return false
		case *ast.SelectorExpr:
			// x.Sel: Sel is a field, method or package member, never a top-level name here.
			out = append(out, refs(v.X)...)
			return false
		case *ast.Ident:
			out = append(out, v.Name)
		}
		return true
	})
	return out
}

// usesPkg reports whether n contains a selector pkg.X.
func usesPkg(n ast.Node, pkg string) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if se, ok := x.(*ast.SelectorExpr); ok {
			if id, ok := se.X.(*ast.Ident); ok && id.Name == pkg {
				found = true
			}
		}
		return !found
	})
	return found
}

// AddConstraint puts "//go:build expr" at the top of a Go source file, combining it with an
// existing //go:build line ("(old) && expr"). A file that already requires expr is unchanged.
func AddConstraint(src []byte, expr string) []byte {
	lines := strings.SplitAfter(string(src), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "//go:build ") {
			old := strings.TrimPrefix(t, "//go:build ")
			if old == expr || strings.Contains(old, "("+expr+")") {
				return src
			}
			lines[i] = "//go:build (" + old + ") && (" + expr + ")\n"
			return []byte(strings.Join(lines, ""))
		}
		if strings.HasPrefix(t, "package ") {
			break
		}
	}
	return append([]byte("//go:build "+expr+"\n\n"), src...)
}

// importsPath reports whether a Go file imports path.
func importsPath(filename string, src []byte, path string) (bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filename, src, parser.ImportsOnly)
	if err != nil {
		return false, err
	}
	for _, is := range f.Imports {
		if p, _ := strconv.Unquote(is.Path.Value); p == path {
			return true, nil
		}
	}
	return false, nil
}

// Apply switches the Seesaw checkout in dir (writable) to have both backends: it splits
// ipvs/ipvs.go, constrains Seesaw's netlink package and the ipvs tests that use it to
// !rust_ipvs, and copies the files of overlayDir (lbnet's ipvs_rust*.go) into ipvs/. It returns
// a list of what it changed. Applying twice is an error.
func Apply(dir, overlayDir string) ([]string, error) {
	var log []string
	ipvsDir := filepath.Join(dir, "ipvs")
	orig := filepath.Join(ipvsDir, "ipvs.go")
	src, err := os.ReadFile(orig)
	if err != nil {
		return nil, fmt.Errorf("reading Seesaw's ipvs.go (already applied?): %w", err)
	}
	sp, err := SplitIPVS(orig, src)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(ipvsDir, "types.go"), sp.Types, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(ipvsDir, "ipvs_libnl.go"), sp.Libnl, 0o644); err != nil {
		return nil, err
	}
	if err := os.Remove(orig); err != nil {
		return nil, err
	}
	log = append(log, fmt.Sprintf("ipvs/ipvs.go -> ipvs/types.go (%s)", strings.Join(sp.TypesDecls, " ")),
		fmt.Sprintf("ipvs/ipvs.go -> ipvs/ipvs_libnl.go [!%s] (%s)", TagRust, strings.Join(sp.LibnlDecls, " ")))

	// Tests of the ipvs package that use the libnl package or the libnl internals.
	ents, err := os.ReadDir(ipvsDir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, "_test.go") || strings.HasPrefix(n, "ipvs_rust") {
			continue
		}
		p := filepath.Join(ipvsDir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		libnl, err := importsPath(p, b, netlinkImport)
		if err != nil {
			return nil, err
		}
		if libnl || mentionsLibnlInternals(b, sp.LibnlDecls) {
			if err := os.WriteFile(p, AddConstraint(b, "!"+TagRust), 0o644); err != nil {
				return nil, err
			}
			log = append(log, fmt.Sprintf("ipvs/%s: +//go:build !%s", n, TagRust))
		}
	}

	// Seesaw's cgo libnl package: excluded with the tag, so nothing can pull libnl in.
	nlDir := filepath.Join(dir, "netlink")
	if ents, err := os.ReadDir(nlDir); err == nil {
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			p := filepath.Join(nlDir, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, AddConstraint(b, "!"+TagRust), 0o644); err != nil {
				return nil, err
			}
			log = append(log, fmt.Sprintf("netlink/%s: +//go:build !%s", e.Name(), TagRust))
		}
	}

	ov, err := os.ReadDir(overlayDir)
	if err != nil {
		return nil, err
	}
	for _, e := range ov {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(overlayDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(ipvsDir, e.Name()), b, 0o644); err != nil {
			return nil, err
		}
		log = append(log, "ipvs/"+e.Name()+": added (lbnet backend)")
	}
	return log, nil
}

// mentionsLibnlInternals reports whether a test file names an unexported declaration that moved
// to the libnl file (a whole-word match is enough: such tests cannot build with the tag).
func mentionsLibnlInternals(src []byte, libnl []string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		return false
	}
	moved := map[string]bool{}
	for _, n := range libnl {
		if !strings.Contains(n, ".") && !ast.IsExported(n) {
			moved[n] = true
		}
	}
	hit := false
	ast.Inspect(f, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok && moved[id.Name] {
			hit = true
		}
		return !hit
	})
	return hit
}
