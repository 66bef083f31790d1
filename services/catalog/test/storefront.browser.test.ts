import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  artifactPath,
  launchChromium,
  startShopBehindEdge,
  until,
  type Browser,
  type ShopBehindEdge,
} from '@mela/testkit';

const products = [
  { id: 601, name: 'Galaxy Festival Phone', priceCents: 2_499_900, stock: 20 },
  { id: 602, name: 'Monsoon Trail Shoes', priceCents: 349_900, stock: 50 },
  { id: 603, name: 'Diwali Lights Speaker', priceCents: 599_900, stock: 8 },
];

describe('the storefront in a real browser (headless Chromium), through the edge', () => {
  let shop: ShopBehindEdge;
  let browser: Browser;
  before(async () => {
    shop = await startShopBehindEdge({ products });
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await shop.close();
  });

  it('when a shopper browses, searches, signs in, adds to cart and orders, then the page shows the order confirmed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const edgeCache = new Map<string, string | undefined>();
    page.on('response', (response) => {
      if (response.url().includes('/static/'))
        edgeCache.set(response.url(), response.headers()['x-cache']);
    });

    await page.goto(`${shop.url}/`);
    const cards = page.getByTestId('product');
    await cards.first().waitFor();
    assert.deepEqual(
      (await cards.locator('.name').allTextContents()).sort(),
      products.map((p) => p.name).sort(),
    );
    // Every product image arrives through the edge (the cards show before their images load).
    // Polled with page.evaluate, not waitForFunction: under the page's CSP (script-src 'self')
    // Playwright's repeated predicate evaluation is refused as eval when the first check fails
    // (microsoft/playwright#36986); one evaluate per poll is allowed.
    await until(
      () =>
        page.evaluate<boolean>(
          "[...document.querySelectorAll('#products img')].every((img) => img.complete && img.naturalWidth > 0)",
        ),
      'every product image to load through the edge',
    );

    await page.getByRole('searchbox', { name: 'Search products' }).fill('trail shoes');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Results for “trail shoes”' }).waitFor();
    assert.deepEqual(await cards.locator('.name').allTextContents(), ['Monsoon Trail Shoes']);

    const shopper = `asha-${randomBytes(3).toString('hex')}`;
    await page.getByRole('textbox', { name: 'User id' }).fill(shopper);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${shopper}`).waitFor();

    await cards.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByTestId('cart-line').filter({ hasText: 'Monsoon Trail Shoes × 1' }).waitFor();

    await page.getByRole('button', { name: 'Place order' }).click();
    const status = page.locator('#order-status');
    await status.filter({ hasText: /^Order #\d+ is confirmed\.$/ }).waitFor();
    const orderId = /#(\d+)/.exec((await status.textContent()) ?? '')?.[1] ?? '';
    await page
      .getByTestId('order')
      .filter({ hasText: `#${orderId} — confirmed` })
      .waitFor();
    await page.getByText('Your cart is empty.').waitFor();

    await page.getByRole('button', { name: 'Phones' }).click();
    await page.getByRole('heading', { name: 'Phones' }).waitFor();
    // Kept as test-artifacts/storefront.png: the storefront with products, cart and order.
    await page.screenshot({ path: artifactPath('storefront.png'), fullPage: true });

    assert.deepEqual(errors, []);
    assert.notEqual(await page.locator('#notice').getAttribute('class'), 'error');
    assert.ok(
      [...edgeCache.values()].every((value) => value === 'HIT' || value === 'MISS'),
      JSON.stringify([...edgeCache]),
    );
    await context.close();
  });

  it('when the API reference opens at the edge, then each service’s operations render from its own document, and nothing is fetched from elsewhere', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith(shop.url)) errors.push(`fetched ${request.url()}`);
    });

    await page.goto(`${shop.url}/api/docs/`);
    const operation = (path: string) => page.locator('.opblock').filter({ hasText: path }).first();
    await operation('/api/catalog/products/{id}').waitFor();
    await page.getByLabel('Select a definition').selectOption('order');
    await operation('/api/orders/{id}').waitFor();
    // Kept as test-artifacts/api-reference.png.
    await page.screenshot({ path: artifactPath('api-reference.png') });

    assert.deepEqual(errors, []);
    await context.close();
  });
});
