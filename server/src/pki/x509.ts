// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the
// Reflect metadata polyfill loaded first. Every module in this package imports
// @peculiar/x509 from here so that the order is guaranteed.
import 'reflect-metadata';
export * as x509 from '@peculiar/x509';
