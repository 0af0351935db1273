package gobgpexport

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	toml "github.com/pelletier/go-toml/v2"
)

// ImportConfig is the [netlink.import] section, with the PureLB fork's keys and meaning: when
// enabled, the networks of the global unicast addresses (not loopback, link-local, multicast
// or unspecified) of the interfaces named by interface-list (names or shell globs, `eth*`)
// are announced into GoBGP's global RIB, or into the GoBGP VRF vrf when it is set, with
// origin IGP and next hop 0.0.0.0 / :: (GoBGP sends its own address to peers), and withdrawn
// when no such address is left.
type ImportConfig struct {
	Enabled       bool     `toml:"enabled"`
	VRF           string   `toml:"vrf"`
	InterfaceList []string `toml:"interface-list"`
}

// VRFImportConfig is one GoBGP VRF's [vrfs.netlink-import] table (keys enabled and
// interface-list): the networks of those interfaces go into that VRF's RIB.
type VRFImportConfig struct {
	// VRF is the GoBGP VRF's name ([vrfs.config] name).
	VRF           string   `toml:"-"`
	Enabled       bool     `toml:"enabled"`
	InterfaceList []string `toml:"interface-list"`
}

// Imports is the whole import configuration of a file.
type Imports struct {
	Global ImportConfig
	VRFs   []VRFImportConfig
}

// Targets are the enabled imports as (GoBGP VRF, interface patterns): VRF "" is the global
// RIB. The global section's vrf, if set, is its target.
func (c Imports) Targets() []ImportTarget {
	var out []ImportTarget
	if c.Global.Enabled {
		out = append(out, ImportTarget{VRF: c.Global.VRF, Interfaces: c.Global.InterfaceList})
	}
	for _, v := range c.VRFs {
		if v.Enabled {
			out = append(out, ImportTarget{VRF: v.VRF, Interfaces: v.InterfaceList})
		}
	}
	return out
}

// ImportTarget is one RIB the import announces into and the interfaces it takes addresses
// from.
type ImportTarget struct {
	VRF        string
	Interfaces []string
}

func strictDecode(section any, out any, where string) error {
	raw, err := toml.Marshal(section)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	dec := toml.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return fmt.Errorf("%s: unknown key: %s", where, strict.String())
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

func checkPatterns(list []string, where string) error {
	for _, p := range list {
		if p == "" {
			return fmt.Errorf("%s: empty name in interface-list", where)
		}
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("%s: interface-list pattern %q: %w", where, p, err)
		}
	}
	return nil
}

// ParseImportTOML reads [netlink.import] and every [vrfs.netlink-import] of a gobgpd TOML
// configuration. Unknown keys are errors, as is a [netlink] table other than export and
// import, a malformed glob, or a vrf that no [[vrfs]] entry defines.
func ParseImportTOML(data []byte) (Imports, error) {
	var all map[string]any
	if err := toml.Unmarshal(data, &all); err != nil {
		return Imports{}, fmt.Errorf("[netlink.import]: %w", err)
	}
	var c Imports
	names := map[string]bool{}
	list, _ := all["vrfs"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		conf, _ := m["config"].(map[string]any)
		name, _ := conf["name"].(string)
		names[name] = true
		section, ok := m["netlink-import"]
		if !ok {
			continue
		}
		v := VRFImportConfig{VRF: name}
		where := fmt.Sprintf("[vrfs.netlink-import] of VRF %q", name)
		if err := strictDecode(section, &v, where); err != nil {
			return Imports{}, err
		}
		if err := checkPatterns(v.InterfaceList, where); err != nil {
			return Imports{}, err
		}
		c.VRFs = append(c.VRFs, v)
	}
	netlink, _ := all["netlink"].(map[string]any)
	for k := range netlink {
		if k != "export" && k != "import" {
			return Imports{}, fmt.Errorf("[netlink]: unknown key: %s (want export or import)", k)
		}
	}
	if section, ok := netlink["import"]; ok {
		if err := strictDecode(section, &c.Global, "[netlink.import]"); err != nil {
			return Imports{}, err
		}
		if err := checkPatterns(c.Global.InterfaceList, "[netlink.import]"); err != nil {
			return Imports{}, err
		}
		if c.Global.VRF != "" && !names[c.Global.VRF] {
			return Imports{}, fmt.Errorf("[netlink.import]: vrf %q is not a [[vrfs]] entry", c.Global.VRF)
		}
	}
	return c, nil
}
