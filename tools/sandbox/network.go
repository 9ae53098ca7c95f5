package sandbox

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// buildNetwork creates the namespaces, links, addresses, routes and nftables rules of
// the topology. On error the caller tears down by name.
func buildNetwork(t topology) error {
	for _, name := range t.namespaces() {
		if err := createNetNS(name); err != nil {
			return err
		}
	}
	handles := map[string]*netlink.Handle{}
	nsHandles := map[string]netns.NsHandle{}
	defer func() {
		for _, h := range handles {
			h.Close()
		}
		for _, ns := range nsHandles {
			ns.Close()
		}
	}()
	for _, name := range t.namespaces() {
		ns, err := netns.GetFromName(name)
		if err != nil {
			return fmt.Errorf("open network namespace %s: %w", name, err)
		}
		nsHandles[name] = ns
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			return fmt.Errorf("netlink handle in %s: %w", name, err)
		}
		handles[name] = h
		if err := linkUp(h, "lo"); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	node := handles[t.node]

	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := node.LinkAdd(bridge); err != nil {
		return fmt.Errorf("%s: add bridge %s: %w", t.node, bridgeName, err)
	}
	if err := addAddr(node, bridgeName, netip.PrefixFrom(nodePodIP, podCIDR.Bits())); err != nil {
		return fmt.Errorf("%s: %w", t.node, err)
	}
	if err := linkUp(node, bridgeName); err != nil {
		return fmt.Errorf("%s: %w", t.node, err)
	}

	// Hosts on the LAN and outside: one veth each to the node, which routes.
	hosts := []struct {
		ns       string
		nodeLink string
		nodeIP   netip.Addr
		hostIP   netip.Addr
		cidr     netip.Prefix
	}{
		{t.lan, lanLinkName, nodeLANIP, lanHostIP, lanCIDR},
		{t.outside, outsideLink, nodeOutsideIP, outsideHostIP, outsideCIDR},
	}
	for _, host := range hosts {
		if err := addVeth(node, host.nodeLink, nsHandles[host.ns]); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
		if err := addAddr(node, host.nodeLink, netip.PrefixFrom(host.nodeIP, host.cidr.Bits())); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
		if err := linkUp(node, host.nodeLink); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
		h := handles[host.ns]
		if err := addAddr(h, podLinkName, netip.PrefixFrom(host.hostIP, host.cidr.Bits())); err != nil {
			return fmt.Errorf("%s: %w", host.ns, err)
		}
		if err := linkUp(h, podLinkName); err != nil {
			return fmt.Errorf("%s: %w", host.ns, err)
		}
	}
	// The outside host reaches the LAN (and so the LB IP) through the node, like a
	// host on another routed network; the LAN host needs no route: the LB IP is on-link.
	if err := addRoute(handles[t.outside], lanCIDR, nodeOutsideIP); err != nil {
		return fmt.Errorf("%s: %w", t.outside, err)
	}
	if t.lbIP.IsValid() && !lanCIDR.Contains(t.lbIP) {
		if err := addRoute(handles[t.outside], netip.PrefixFrom(t.lbIP, 32), nodeOutsideIP); err != nil {
			return fmt.Errorf("%s: %w", t.outside, err)
		}
	}
	if t.lbIP.IsValid() {
		// The node answers for the LB IP on the LAN, as MetalLB's speaker does in L2 mode.
		if err := addAddr(node, lanLinkName, netip.PrefixFrom(t.lbIP, 32)); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
	}

	for _, p := range t.pods {
		if err := addVeth(node, p.veth, nsHandles[p.netns]); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
		nodeSide, err := node.LinkByName(p.veth)
		if err != nil {
			return fmt.Errorf("%s: find %s: %w", t.node, p.veth, err)
		}
		if err := node.LinkSetMaster(nodeSide, bridge); err != nil {
			return fmt.Errorf("%s: attach %s to %s: %w", t.node, p.veth, bridgeName, err)
		}
		if err := linkUp(node, p.veth); err != nil {
			return fmt.Errorf("%s: %w", t.node, err)
		}
		h := handles[p.netns]
		if err := addAddr(h, podLinkName, netip.PrefixFrom(p.ip, podCIDR.Bits())); err != nil {
			return fmt.Errorf("%s: %w", p.netns, err)
		}
		if err := linkUp(h, podLinkName); err != nil {
			return fmt.Errorf("%s: %w", p.netns, err)
		}
		// Replies to LAN and outside clients go back through the node; still no default route.
		for _, dst := range []netip.Prefix{lanCIDR, outsideCIDR} {
			if err := addRoute(h, dst, nodePodIP); err != nil {
				return fmt.Errorf("%s: %w", p.netns, err)
			}
		}
		if t.lbIP.IsValid() && !lanCIDR.Contains(t.lbIP) {
			if err := addRoute(h, netip.PrefixFrom(t.lbIP, 32), nodePodIP); err != nil {
				return fmt.Errorf("%s: %w", p.netns, err)
			}
		}
	}

	if err := InNetNSHandle(nsHandles[t.node], func() error {
		// /proc/sys/net resolves to the opening thread's namespace.
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644)
	}); err != nil {
		return fmt.Errorf("%s: enable forwarding: %w", t.node, err)
	}
	if err := installRules(t, nsHandles[t.node]); err != nil {
		return fmt.Errorf("%s: nftables: %w", t.node, err)
	}
	return nil
}

func linkUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find link %s: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// addVeth creates a veth whose one end (name) stays with h and whose peer appears as
// eth0 inside peerNS.
func addVeth(h *netlink.Handle, name string, peerNS netns.NsHandle) error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      podLinkName,
		PeerNamespace: netlink.NsFd(int(peerNS)),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s: %w", name, err)
	}
	return nil
}

func addAddr(h *netlink.Handle, linkName string, prefix netip.Prefix) error {
	link, err := h.LinkByName(linkName)
	if err != nil {
		return fmt.Errorf("find link %s: %w", linkName, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(prefix)}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add %s to %s: %w", prefix, linkName, err)
	}
	return nil
}

func addRoute(h *netlink.Handle, dst netip.Prefix, via netip.Addr) error {
	route := &netlink.Route{Dst: ipNet(dst), Gw: net.IP(via.AsSlice())}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s via %s: %w", dst, via, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Conntrack status bit for destination-NATed connections (IPS_DST_NAT).
const ctStatusDstNAT = 1 << 5

// installRules writes the node's nftables table: what kube-proxy does for a
// LoadBalancer Service with loadBalancerSourceRanges (a filter before DNAT that drops
// sources outside the ranges, then DNAT to the endpoint), hairpin masquerade, and a
// forward filter that keeps pod addresses unreachable from the LAN except through the
// Service.
func installRules(t topology, nodeNS netns.NsHandle) error {
	conn, err := nftables.New(nftables.WithNetNSFd(int(nodeNS)))
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	table := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: namePrefix + t.id})
	accept := nftables.ChainPolicyAccept

	if t.lbIP.IsValid() {
		firewall := conn.AddChain(&nftables.Chain{
			Name: "lb-source-ranges", Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-110), Policy: &accept,
		})
		for _, r := range t.ranges {
			exprs := append(matchLB(t), matchPrefix(12, r)...)
			exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictAccept})
			conn.AddRule(&nftables.Rule{Table: table, Chain: firewall, Exprs: exprs})
		}
		conn.AddRule(&nftables.Rule{Table: table, Chain: firewall, Exprs: append(matchLB(t), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})})

		dnat := conn.AddChain(&nftables.Chain{
			Name: "lb-dnat", Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
		})
		exprs := append(matchLB(t),
			&expr.Immediate{Register: 1, Data: t.lbTarget.AsSlice()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(redisPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegAddrMax: 1, RegProtoMin: 2, RegProtoMax: 2, Specified: true},
		)
		conn.AddRule(&nftables.Rule{Table: table, Chain: dnat, Exprs: exprs})
	}

	post := conn.AddChain(&nftables.Chain{
		Name: "hairpin", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	hairpin := append(matchPrefix(12, podCIDR), matchPrefix(16, podCIDR)...)
	hairpin = append(hairpin, matchCtStatus(ctStatusDstNAT)...)
	hairpin = append(hairpin, &expr.Masq{})
	conn.AddRule(&nftables.Rule{Table: table, Chain: post, Exprs: hairpin})

	forward := conn.AddChain(&nftables.Chain{
		Name: "pod-isolation", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	})
	conn.AddRule(&nftables.Rule{Table: table, Chain: forward, Exprs: []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}})
	toPods := append(matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridgeName), matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, bridgeName)...)
	conn.AddRule(&nftables.Rule{Table: table, Chain: forward,
		Exprs: append(append(append([]expr.Any{}, toPods...), matchCtStatus(ctStatusDstNAT)...), &expr.Verdict{Kind: expr.VerdictAccept})})
	conn.AddRule(&nftables.Rule{Table: table, Chain: forward,
		Exprs: append(append([]expr.Any{}, toPods...), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})})

	if err := conn.Flush(); err != nil {
		return fmt.Errorf("apply table %s: %w", table.Name, err)
	}
	return nil
}

// matchLB matches TCP to the LB IP and Service port.
func matchLB(t topology) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: t.lbIP.AsSlice()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(t.lbPort))},
	}
}

// matchPrefix matches the IPv4 address at offset (12 source, 16 destination) against p.
func matchPrefix(offset uint32, p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func matchCtStatus(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	padded := make([]byte, unix.IFNAMSIZ)
	copy(padded, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: padded},
	}
}
