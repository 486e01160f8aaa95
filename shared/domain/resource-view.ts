/** The envelope of every GET response (ProxyResource in the spec; workspaces add location and tags). */
export interface ResourceView<P> {
  id: string;
  name: string;
  type: string;
  properties: P;
}
