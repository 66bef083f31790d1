/** A deterministic pseudo-random generator (mulberry32), so every seed builds the same catalog. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const seedCategories = [
  ['mobiles', 'Mobiles'],
  ['laptops', 'Laptops'],
  ['tablets', 'Tablets'],
  ['audio', 'Audio'],
  ['cameras', 'Cameras'],
  ['televisions', 'Televisions'],
  ['appliances', 'Home appliances'],
  ['kitchen', 'Kitchen'],
  ['furniture', 'Furniture'],
  ['decor', 'Home decor'],
  ['men-fashion', "Men's fashion"],
  ['women-fashion', "Women's fashion"],
  ['kids', 'Kids'],
  ['footwear', 'Footwear'],
  ['watches', 'Watches'],
  ['jewellery', 'Jewellery'],
  ['beauty', 'Beauty'],
  ['sports', 'Sports'],
  ['books', 'Books'],
  ['toys', 'Toys'],
  ['grocery', 'Grocery'],
  ['health', 'Health'],
  ['automotive', 'Automotive'],
  ['gaming', 'Gaming'],
] as const;

const brands = [
  'Aurix',
  'Bolt',
  'Chandra',
  'Dhruv',
  'Ekam',
  'Falcon',
  'Ganga',
  'Himal',
  'Indus',
  'Jugnu',
  'Kaveri',
  'Lotus',
  'Mayur',
  'Nila',
  'Orbit',
  'Prism',
  'Quasar',
  'Rangoli',
  'Surya',
  'Tara',
];
const adjectives = [
  'Pro',
  'Max',
  'Lite',
  'Ultra',
  'Classic',
  'Smart',
  'Turbo',
  'Eco',
  'Prime',
  'Neo',
  'Air',
  'Plus',
];
const nouns: Record<string, readonly string[]> = {
  mobiles: ['Phone', 'Smartphone'],
  laptops: ['Laptop', 'Notebook'],
  tablets: ['Tablet', 'Slate'],
  audio: ['Earbuds', 'Headphones', 'Speaker'],
  cameras: ['Camera', 'Lens'],
  televisions: ['TV', 'Display'],
  appliances: ['Washer', 'Fridge', 'Cooler'],
  kitchen: ['Mixer', 'Kettle', 'Cooker'],
  furniture: ['Chair', 'Sofa', 'Desk'],
  decor: ['Lamp', 'Rug', 'Vase'],
  'men-fashion': ['Shirt', 'Kurta', 'Jacket'],
  'women-fashion': ['Saree', 'Dress', 'Kurti'],
  kids: ['Onesie', 'Backpack'],
  footwear: ['Sneakers', 'Sandals'],
  watches: ['Watch', 'Smartwatch'],
  jewellery: ['Necklace', 'Earrings'],
  beauty: ['Serum', 'Lipstick'],
  sports: ['Racket', 'Football', 'Yoga Mat'],
  books: ['Novel', 'Cookbook'],
  toys: ['Puzzle', 'Robot'],
  grocery: ['Tea', 'Basmati Rice'],
  health: ['Protein', 'Oximeter'],
  automotive: ['Dashcam', 'Helmet'],
  gaming: ['Controller', 'Console'],
};

export interface SeedProduct {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly categoryId: number;
  readonly priceCents: number;
  readonly stock: number;
  readonly featured: boolean;
  readonly popularity: number;
}

/**
 * Product `id` of a catalog of `total`: a believable name, a price spread like a real store's,
 * and Zipf-like popularity (a few products are very popular, most are not), in a shuffled order
 * so popular products are spread over ids and categories.
 */
export function seedProduct(
  id: number,
  total: number,
  random: () => number,
  rank: number,
): SeedProduct {
  const categoryIndex = Math.floor(random() * seedCategories.length);
  const [slug] = seedCategories[categoryIndex] ?? seedCategories[0];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const noun = pick(nouns[slug] ?? ['Item']);
  const name = `${pick(brands)} ${noun} ${pick(adjectives)} ${100 + Math.floor(random() * 900)}`;
  const price = Math.round(Math.exp(5.3 + random() * 6.5)) * 100 - 1;
  return {
    id,
    sku: `SKU-${String(id).padStart(8, '0')}`,
    name,
    description: `${name}: a ${noun.toLowerCase()} for everyday use, with a ${pick(adjectives).toLowerCase()} finish and a one-year warranty.`,
    categoryId: categoryIndex + 1,
    priceCents: Math.max(9900, price),
    stock: random() < 0.08 ? 0 : Math.floor(random() * 500),
    featured: rank < Math.max(12, total / 500),
    popularity: Math.max(1, Math.round(1_000_000 / Math.pow(rank + 1, 1.07))),
  };
}

/** A random permutation of 0..n-1 (popularity ranks), Fisher–Yates. */
export function shuffledRanks(n: number, random: () => number): Uint32Array {
  const ranks = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) ranks[i] = i;
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const a = ranks[i] ?? 0;
    ranks[i] = ranks[j] ?? 0;
    ranks[j] = a;
  }
  return ranks;
}
