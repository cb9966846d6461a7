/** The roles `meshgate render istio` renders: which filter, on which side of the proxy. */
export type IstioRole = 'inbound' | 'egress' | 'egress-sni';
